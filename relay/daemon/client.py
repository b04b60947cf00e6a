"""The relay's HTTP API as the daemon (and ``relay token``) use it, over httpx on trio.

Every call raises ``RelayUnavailable`` when the relay cannot answer now (connection
refused or reset, timeout, 5xx, 429: worth retrying) and ``RelayRejected`` with the
status and the relay's message for any other error (retrying will not help).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import httpx

from relay import __version__
from relay.daemon.outcome import JSON

log = logging.getLogger("relay.daemon.client")

DEFAULT_TIMEOUT = 30.0


class RelayUnavailable(Exception):
    """The relay did not answer usefully; try again later."""


class RelayRejected(Exception):
    """The relay answered with a client error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message


class RelayClient:
    def __init__(self, url: str, token: str | None, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self._http = httpx.AsyncClient(
            base_url=self.url,
            timeout=timeout,
            headers={"User-Agent": f"relay-orchestrator/{__version__}"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
        token: str | None = None,
    ) -> Any:
        bearer = token or self.token
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        try:
            response = await self._http.request(
                method,
                path,
                json=body,
                params=params,
                headers=headers,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise RelayUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise RelayUnavailable(f"{method} {path}: {response.status_code} {_message(response)}")
        if response.status_code >= 400:
            raise RelayRejected(response.status_code, _message(response))
        return response.json() if response.content else None

    def websocket_url(self, path: str) -> str:
        base = self.url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        return base + path

    # -- orchestrator --------------------------------------------------------------------------

    async def register_orchestrator(self, body: JSON, *, token: str | None = None) -> JSON:
        reply: JSON = await self.request("POST", "/api/orchestrators", body=body, token=token)
        return reply

    async def heartbeat(self, orchestrator_id: str, body: JSON) -> JSON:
        reply: JSON = await self.request(
            "POST", f"/api/orchestrators/{_id(orchestrator_id)}/heartbeat", body=body
        )
        return reply

    async def poll_commands(self, orchestrator_id: str, wait: int) -> list[JSON]:
        reply: list[JSON] = await self.request(
            "GET",
            f"/api/orchestrators/{_id(orchestrator_id)}/commands",
            params={"wait": wait},
            timeout=wait + DEFAULT_TIMEOUT,
        )
        return reply

    async def patch_command(self, command_id: str, body: JSON) -> JSON:
        reply: JSON = await self.request("PATCH", f"/api/commands/{_id(command_id)}", body=body)
        return reply

    async def list_commands(self, *, target: str, status: str) -> list[JSON]:
        reply: list[JSON] = await self.request(
            "GET", "/api/commands", params={"target": target, "status": status, "limit": 1000}
        )
        return reply

    async def renew_token(self) -> JSON:
        reply: JSON = await self.request("POST", "/api/runtime-tokens/renew")
        return reply

    # -- agents and workspaces -----------------------------------------------------------------

    async def register_agent(self, body: JSON) -> JSON:
        reply: JSON = await self.request("POST", "/api/agents", body=body)
        return reply

    async def agent_heartbeat(self, agent_id: str) -> JSON:
        reply: JSON = await self.request("POST", f"/api/agents/{_id(agent_id)}/heartbeat")
        return reply

    async def post_workspace(self, body: JSON) -> JSON:
        reply: JSON = await self.request("POST", "/api/workspaces", body=body)
        return reply

    # -- tokens (admin) --------------------------------------------------------------------------

    async def create_token(self, body: JSON) -> JSON:
        reply: JSON = await self.request("POST", "/api/tokens", body=body)
        return reply

    async def list_tokens(self) -> list[JSON]:
        reply: list[JSON] = await self.request("GET", "/api/tokens")
        return reply

    async def revoke_token(self, jti: str) -> JSON:
        reply: JSON = await self.request("DELETE", f"/api/tokens/{_id(jti)}")
        return reply


def _id(value: str) -> str:
    return quote(value, safe="")


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        message: str = body["error"]
        return message
    return response.reason_phrase
