"""hypercorn's trio connection handler: closes a connection once its client has closed it,
and writes a response's bytes straight to the socket when it can take them.

hypercorn (0.17, 0.18) ends a connection's read loop when the client closes (EOF, or a reset),
but the connection only closes once every task of its task group has ended, and one of them is
the keep-alive watcher, started when the last response was done. When the close is read while
the connection is idle, nothing stops that watcher: the socket stays open (CLOSE-WAIT) for the
whole keep-alive timeout, 65 s by default, holding a file descriptor and a task per client that
left. Here the end of the read loop ends the watcher too, and a watcher started after it (the
response to a request still in flight finished later) closes at once.

Every write of a response (each SSE batch, each API reply) goes through
``TCPServer.protocol_send``: a ``trio.Lock``, a shielded cancel scope and ``send_all`` with its
conflict detector and error translation, two trips through trio's scheduler in all. With 500
event streams that was a quarter of the server's CPU (py-spy, bench.sse) for writes the kernel
takes at once. ``protocol_send`` here first offers the bytes to the socket without waiting
(``write_now``); only what the socket does not take goes the original way.
"""

from __future__ import annotations

import os

import trio
from hypercorn.events import Event, RawData
from hypercorn.trio import run as hypercorn_run
from hypercorn.trio.tcp_server import TCPServer

__all__ = ["RelayTCPServer", "use_in_hypercorn", "write_now"]


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


class RelayTCPServer(TCPServer):
    """hypercorn's ``TCPServer``, which notices the client's close while idle and writes
    without waiting when the socket has room."""

    _peer_gone = False

    async def protocol_send(self, event: Event) -> None:
        if type(event) is not RawData:
            await super().protocol_send(event)
            return
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
        self._peer_gone = True
        await self.idle_task.stop()

    async def _idle_timeout(self) -> None:
        if not self._peer_gone:
            await super()._idle_timeout()
            return
        with trio.CancelScope(shield=True):
            await self._initiate_server_close()


def use_in_hypercorn() -> None:
    """Make hypercorn's trio worker serve each connection with ``RelayTCPServer``.

    ``worker_serve`` builds its handler from the module's ``TCPServer`` name and takes no
    other: this replaces that name (hypercorn is pinned below the next minor release).
    """
    hypercorn_run.TCPServer = RelayTCPServer  # type: ignore[attr-defined]
