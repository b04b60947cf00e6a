"""hypercorn's trio connection handler: closes a connection once its client has closed it,
and writes a response's bytes straight to the socket when it can take them.

hypercorn (0.17, 0.18) ends a connection's read loop when the client closes (EOF, or a reset),
but the connection only closes once every task of its task group has ended, and one of them is
the keep-alive watcher, started when the last response was done. When the close is read while
the connection is idle, nothing stops that watcher: the socket stays open (CLOSE-WAIT) for the
whole keep-alive timeout, 65 s by default, holding a file descriptor and a task per client that
left. Here the end of the read loop ends the watcher too, and a watcher started after it (the
response to a request still in flight finished later) closes at once.

Between requests hypercorn watches a kept-alive connection with a task of its own: stopped
(cancelled) when a request starts and started again (``nursery.start``) when its response
ends, 7-9 % of the server on heartbeats and posts (py-spy). ``IdleWatch`` keeps one
watcher per connection instead and only moves its deadline.

Every write of a response (each SSE batch, each API reply) goes through
``TCPServer.protocol_send``: a ``trio.Lock``, a shielded cancel scope and ``send_all`` with its
conflict detector and error translation, two trips through trio's scheduler in all. With 500
event streams that was a quarter of the server's CPU (py-spy, bench.sse) for writes the kernel
takes at once. ``protocol_send`` here first offers the bytes to the socket without waiting
(``write_now``); only what the socket does not take goes the original way.
"""

from __future__ import annotations

import math
import os
from typing import Any

import trio
from hypercorn.events import Closed, Event, RawData
from hypercorn.trio import run as hypercorn_run
from hypercorn.trio.tcp_server import TCPServer

__all__ = ["IdleWatch", "RelayTCPServer", "use_in_hypercorn", "write_now"]


def write_now(stream: object, lock: trio.Lock, data: bytes) -> int:
    """Write what the socket takes of ``data`` now, without waiting; the bytes written.

    0 when nothing could be written this way: not a plain TCP stream (TLS), another write
    of this connection in flight (``lock`` held: it may be waiting for room, and bytes
    written now would overtake it), the write side shut or closed, a full socket buffer,
    or any socket error (the caller's ordinary path then meets it and closes as usual).
    Synchronous: no other task runs between the check of ``lock`` and the write.
    """
    if not data or lock.locked() or not isinstance(stream, trio.SocketStream):
        return 0
    sock = stream.socket
    fd = sock.fileno()
    if fd < 0 or sock.did_shutdown_SHUT_WR:
        return 0
    try:
        return os.write(fd, data)
    except OSError:  # BlockingIOError (full), EPIPE, ECONNRESET: left to send_all
        return 0


class IdleWatch:
    """The idle watch of one connection, in the place of hypercorn's ``TrioSingleTask``.

    hypercorn calls ``restart`` when the connection turns idle (a response ended; and
    once at the start) and ``stop`` when a request begins. One watcher task, started at
    the first ``restart``, waits for the relay to stop (``context.terminated``) under a
    deadline that is the keep-alive timeout while idle and none while busy; it closes
    the connection once idle past the keep-alive timeout, idle while the relay stops, or
    idle after the client closed (``peer_gone``). ``end``: the connection is closing
    anyway, the watcher leaves (else it would hold the connection's task group open).
    """

    def __init__(self, server: RelayTCPServer) -> None:
        self._server = server
        self._wait: trio.CancelScope | None = None  # the watcher's wait; None: no watcher
        self._idle = False
        self._peer_gone = False
        self._ended = False

    async def restart(self, task_group: Any, _action: object = None) -> None:
        """The connection is idle: closed past the keep-alive timeout from now."""
        self._idle_from_now(task_group)
        await trio.lowlevel.checkpoint()  # see ``stop``

    def _idle_from_now(self, task_group: Any) -> None:
        self._idle = True
        if self._ended:
            return
        deadline = trio.current_time() + self._server.config.keep_alive_timeout
        if self._wait is None:
            self._wait = trio.CancelScope(deadline=deadline)
            task_group.spawn(self._watch)
        else:
            self._wait.deadline = deadline
        if self._peer_gone or self._server.context.terminated.is_set():
            self._wait.cancel()

    async def stop(self) -> None:
        """A request began: no keep-alive deadline until its response ends."""
        # The change is made when called, in call order: hypercorn's own restart and stop
        # took a (FIFO) trio.Lock for that. A change made after the checkpoint could land
        # after one called later in the same batch (trio runs a batch in either order): a
        # pipelined request starting just as the previous response ended would be watched
        # as idle and closed mid-response. The checkpoint stays, as hypercorn's lock was
        # one: the connection's reader lets the others run here, as it did.
        self._idle = False
        if self._wait is not None:
            self._wait.deadline = math.inf
        await trio.lowlevel.checkpoint()

    def peer_gone(self) -> None:
        """The client closed: nothing more can arrive, so idle means done. While busy,
        hypercorn has closed the response's stream (the app sees a disconnect) and the
        connection ends with its tasks: the watcher leaves."""
        self._peer_gone = True
        if not self._idle:
            self._ended = True
        if self._wait is not None:
            self._wait.cancel()

    def end(self) -> None:
        """The connection closes: the watcher leaves without closing anything."""
        self._ended = True
        if self._wait is not None:
            self._wait.cancel()

    async def _watch(self) -> None:
        terminated = self._server.context.terminated
        while True:
            assert self._wait is not None
            with self._wait:
                await terminated.wait()
            if self._ended:
                return
            if self._idle:
                break
            self._wait = trio.CancelScope()  # no deadline while busy; ``restart`` sets it
            if terminated.is_set():
                # The relay is stopping while a request is in flight: close once it is
                # done (``restart`` then cancels this wait at once).
                with self._wait:
                    await trio.sleep_forever()
                if self._ended:
                    return
                break
            # Else the deadline passed just as a request began: watch again.
        with trio.CancelScope(shield=True):
            await self._server._initiate_server_close()


class RelayTCPServer(TCPServer):
    """hypercorn's ``TCPServer``, which notices the client's close while idle, keeps one
    idle watcher per connection, and writes without waiting when the socket has room."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.idle_task: IdleWatch = IdleWatch(self)  # type: ignore[assignment]

    async def protocol_send(self, event: Event) -> None:
        if type(event) is not RawData:
            if type(event) is Closed:
                self.idle_task.end()
            await super().protocol_send(event)
            return
        # A cancelled writer writes nothing, as at the lock of the ordinary path (the direct
        # write does not otherwise yield).
        await trio.lowlevel.checkpoint_if_cancelled()
        written = write_now(self.stream, self.send_lock, event.data)
        if written == len(event.data):
            return
        if written == 0:
            await super().protocol_send(event)
            return
        # Part of a frame is on the wire: the rest must follow it, cancelled or not (the
        # lock is free, and nothing ran since the write, so nothing can come in between).
        with trio.CancelScope(shield=True):
            await super().protocol_send(RawData(data=event.data[written:]))

    async def _read_data(self) -> None:
        await super()._read_data()
        # Nothing more can arrive: no request will end the idle wait.
        self.idle_task.peer_gone()


def use_in_hypercorn() -> None:
    """Make hypercorn's trio worker serve each connection with ``RelayTCPServer``.

    ``worker_serve`` builds its handler from the module's ``TCPServer`` name and takes no
    other: this replaces that name (hypercorn is pinned below the next minor release).
    """
    hypercorn_run.TCPServer = RelayTCPServer  # type: ignore[attr-defined]
