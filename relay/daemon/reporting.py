"""Telling the relay how a command is going: over the WebSocket, else ``PATCH``.

A report "lands" when the relay accepts it or refuses it for good: ``409 command
already settled`` means the outcome is already there (a re-sent report after a
lost reply), and any other client error will not change by asking again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal, Protocol

import trio

from relay.daemon.backoff import Backoff
from relay.daemon.client import RelayClient, RelayRejected, RelayUnavailable
from relay.daemon.outcome import JSON

log = logging.getLogger("relay.daemon.reporting")

MAX_ERROR_CHARS = 20_000
SETTLED = "command already settled"

# What became of a report: taken, refused as the command is settled already (its outcome
# is there), refused for another reason (asking again changes nothing), or not delivered.
Landing = Literal["accepted", "settled", "refused", "unavailable"]


class StatusSocket(Protocol):
    async def send_status(self, report: JSON) -> JSON | None: ...


class Reporter:
    def __init__(
        self,
        client: RelayClient,
        socket: StatusSocket | None,
        backoff: Callable[[], Backoff],
    ) -> None:
        self.client = client
        self.socket = socket
        self._backoff = backoff

    async def report(
        self,
        command_id: str,
        status: str,
        *,
        result: Any = None,
        error: str | None = None,
        persistent: bool = False,
    ) -> bool:
        """Send one status report; True once it landed.

        With ``persistent`` it retries (capped backoff with jitter) until it lands or the
        caller is cancelled; without, it tries each path once and returns False.
        """
        landing = await self._send(
            command_id, status, result=result, error=error, persistent=persistent
        )
        return landing != "unavailable"

    async def acknowledge(self, command_id: str) -> bool:
        """Report ``running`` (tried once per path); False only when the relay answers that
        the command is settled already (cancelled, or expired before it was acknowledged):
        it must not be run. A relay that cannot be reached is no such answer."""
        return await self._send(command_id, "running") != "settled"

    async def _send(
        self,
        command_id: str,
        status: str,
        *,
        result: Any = None,
        error: str | None = None,
        persistent: bool = False,
    ) -> Landing:
        body: JSON = {"status": status}
        if result is not None:
            body["result"] = result
        if error:
            body["error"] = error[:MAX_ERROR_CHARS]
        backoff = self._backoff()
        while True:
            if self.socket is not None:
                reply = await self.socket.send_status({"commandId": command_id, **body})
                if reply is not None and reply.get("type") == "status-ok":
                    return "accepted"
                if reply is not None and reply.get("error") == SETTLED:
                    return "settled"
            try:
                await self.client.patch_command(command_id, body)
                return "accepted"
            except RelayRejected as exc:
                if exc.status == 409:
                    log.info("report_settled_already command=%s status=%s", command_id, status)
                    return "settled" if exc.message == SETTLED else "refused"
                if exc.status != 401:
                    log.warning(
                        "report_refused command=%s status=%s http=%s error=%s",
                        command_id,
                        status,
                        exc.status,
                        exc.message,
                    )
                    return "refused"
                log.warning("report_unauthorized command=%s status=%s", command_id, status)
            except RelayUnavailable as exc:
                log.info(
                    "report_unavailable command=%s status=%s error=%s", command_id, status, exc
                )
            if not persistent:
                return "unavailable"
            await trio.sleep(backoff.next())
