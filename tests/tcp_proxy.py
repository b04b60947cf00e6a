"""A TCP proxy a test can cut and restore: a database outage without stopping the database.

The PostgreSQL at 127.0.0.1:5432 is shared, so a test points the relay at this proxy
instead and cuts it. Two ways to cut, as networks fail:

- ``cut()``: every proxied connection is closed at once and new ones are dropped on
  arrival (the server went away: the client sees the close straight away);
- ``cut(on_use=True)``: idle connections stay open until the client next sends on one,
  then that one is closed without its bytes reaching the server, and new ones are dropped
  (a partition: a pooled connection looks alive until a statement is sent on it, so the
  failure lands in the middle of whatever the client was doing, such as BEGIN).
"""

from __future__ import annotations

from typing import Any

import trio

_CHUNK = 65536


class CuttableProxy:
    """Forwards ``127.0.0.1:port`` to ``upstream``; serve it with ``nursery.start(p.serve)``."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.accepted = 0  # connections forwarded, for tests that want to see reconnects
        self._cut = False
        self._on_use = False
        self._scopes: set[trio.CancelScope] = set()

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        listener = listeners[0]
        self.port = listener.socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            task_status.started(self.port)
            async with listener:
                while True:
                    stream = await listener.accept()
                    if self._cut:
                        await trio.aclose_forcefully(stream)
                        continue
                    nursery.start_soon(self._forward, stream)

    def cut(self, *, on_use: bool = False) -> None:
        """Start an outage (see the module's docstring for the two kinds)."""
        self._cut = True
        self._on_use = on_use
        if not on_use:
            for scope in list(self._scopes):
                scope.cancel()

    def restore(self) -> None:
        """End the outage: new connections are forwarded again."""
        self._cut = False
        self._on_use = False

    async def _forward(self, client: trio.SocketStream) -> None:
        with trio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                server = await trio.open_tcp_stream(*self.upstream)
            except OSError:
                self._scopes.discard(scope)
                await trio.aclose_forcefully(client)
                return
            self.accepted += 1
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._pump, client, server, scope, True)
                    nursery.start_soon(self._pump, server, client, scope, False)
            finally:
                self._scopes.discard(scope)
                # Shielded: in a cancelled scope the first close's checkpoint would raise
                # and leave the other socket open.
                with trio.CancelScope(shield=True):
                    await client.aclose()
                    await server.aclose()

    async def _pump(
        self,
        source: trio.SocketStream,
        sink: trio.SocketStream,
        scope: trio.CancelScope,
        from_client: bool,
    ) -> None:
        try:
            while True:
                data = await source.receive_some(_CHUNK)
                if not data:
                    break
                if from_client and self._cut and self._on_use:
                    break  # dropped: the connection dies with the client's bytes unsent
                await sink.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        scope.cancel()  # either side gone: close both
