"""hypercorn's trio connection handler, closing a connection once its client has closed it.

hypercorn (0.17, 0.18) ends a connection's read loop when the client closes (EOF, or a reset),
but the connection only closes once every task of its task group has ended, and one of them is
the keep-alive watcher, started when the last response was done. When the close is read while
the connection is idle, nothing stops that watcher: the socket stays open (CLOSE-WAIT) for the
whole keep-alive timeout, 65 s by default, holding a file descriptor and a task per client that
left. Here the end of the read loop ends the watcher too, and a watcher started after it (the
response to a request still in flight finished later) closes at once.
"""

from __future__ import annotations

import trio
from hypercorn.trio import run as hypercorn_run
from hypercorn.trio.tcp_server import TCPServer


class RelayTCPServer(TCPServer):
    """hypercorn's ``TCPServer``, which notices the client's close while idle."""

    _peer_gone = False

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
