"""A fake standby relay: every request, WebSocket handshakes included, is answered as the HA
contract says a standby answers (307 + ``Location`` naming the active, or 503 without one)."""

from __future__ import annotations

import json

import h11
import trio


class FakeStandby:
    """``await nursery.start(standby.serve)`` → listening on ``standby.url``."""

    def __init__(self, active: str | None) -> None:
        self.active = active  # the active's base URL, None: "no active relay"
        self.requests: list[str] = []  # "METHOD target" of each request answered
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def serve(self, *, task_status: trio.TaskStatus[FakeStandby]) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started(self)
        await trio.serve_listeners(self._answer, listeners)

    async def _answer(self, stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        request: h11.Request | None = None
        async with stream:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await stream.receive_some()
                    if not data:
                        return
                    conn.receive_data(data)
                elif isinstance(event, h11.Request):
                    request = event
                elif isinstance(event, h11.EndOfMessage) or event is h11.PAUSED:
                    break
            assert request is not None
            target = request.target.decode()
            self.requests.append(f"{request.method.decode()} {target}")
            if self.active is None:
                status, headers = 503, [("Retry-After", "1")]
                body = {"error": "no active relay"}
            else:
                status, headers = 307, [("Location", self.active + target)]
                body = {
                    "error": f"this relay is a standby; the active one is {self.active}",
                    "active": self.active,
                }
            data = json.dumps(body).encode()
            headers += [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(data))),
                ("Connection", "close"),
            ]
            await stream.send_all(
                conn.send(h11.Response(status_code=status, headers=headers))
                + conn.send(h11.Data(data=data))
                + conn.send(h11.EndOfMessage())
            )
