"""The relay's HTTP API as the daemon (and ``relay token``) use it, over httpx on trio.

Every call raises ``RelayUnavailable`` when the relay cannot answer now (connection
refused or reset, timeout, 5xx, 429: worth retrying) and ``RelayRejected`` with the
status and the relay's message for any other error (retrying will not help).

Given several URLs (an active relay and its standbys) a call tries them in one round, by
the rules in ``relay.daemon.relays``: a standby's 307 is followed to the active, a
connection error or a 503 moves on to the next URL; ``RelayUnavailable`` only once the
round found no relay to answer (the caller's backoff then paces the rounds).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import httpx

from relay import __version__
from relay.daemon.outcome import JSON
from relay.daemon.relays import (
    ELECTION_RETRY_SECONDS,
    REDIRECTS,
    RelayUrls,
    relay_base,
    split_urls,
)

log = logging.getLogger("relay.daemon.client")

DEFAULT_TIMEOUT = 30.0
# Redirects followed within one call: a standby names the active, which answers; more
# than this means the relays disagree on who is active (an election under way).
MAX_REDIRECTS = 3


class RelayUnavailable(Exception):
    """The relay did not answer usefully; try again later.

    ``retry_after`` is set when a standby answered (so an active is being elected, or
    is named by it): the caller may retry that soon instead of after its full backoff.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def retry_delay(backoff_delay: float, exc: RelayUnavailable) -> float:
    """The pause before the next round: the backoff, shortened to a standby's hint."""
    if exc.retry_after is None:
        return backoff_delay
    return min(backoff_delay, exc.retry_after)


class RelayRejected(Exception):
    """The relay answered with a client error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message


class RelayClient:
    def __init__(
        self,
        url: str | list[str],
        token: str | None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,  # tests: a fake network
    ) -> None:
        self.relays = RelayUrls(split_urls(url))
        self.token = token
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            headers={"User-Agent": f"relay-orchestrator/{__version__}"},
        )

    @property
    def url(self) -> str:
        """The relay in use now."""
        return self.relays.current

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
        tried: set[str] = set()
        hint: float | None = None
        redirects = 0
        while True:
            base = self.relays.current
            try:
                response = await self._http.request(
                    method,
                    base + path,
                    json=body,
                    params=params,
                    headers=headers,
                    timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.HTTPError as exc:
                failure = f"{type(exc).__name__}: {exc}"
            else:
                status = response.status_code
                if status in REDIRECTS:
                    request_url = str(response.request.url)
                    target = relay_base(
                        response.headers.get("location", ""),
                        request_url,
                        response.request.url.raw_path.decode("ascii", "replace"),
                    )
                    if target is None:
                        raise RelayRejected(status, "a redirect without a usable Location")
                    hint = hint if hint is not None else ELECTION_RETRY_SECONDS
                    self.relays.follow(target, f"{status} from a standby")
                    if target in tried or redirects >= MAX_REDIRECTS:
                        raise RelayUnavailable(
                            f"{method} {path}: {base} names {target} as active, which did "
                            "not answer",
                            retry_after=hint,
                        )
                    redirects += 1
                    continue
                if status != 503:
                    return _result(method, path, response)
                failure = f"503 {_message(response)}"
                hint = _retry_after(response, hint)
            tried.add(base)
            moved_to = self.relays.fail(failure[:200])
            if moved_to in tried:
                where = f" (last {base})" if len(tried) > 1 else ""
                raise RelayUnavailable(f"{method} {path}: {failure}{where}", retry_after=hint)

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


def _result(method: str, path: str, response: httpx.Response) -> Any:
    if response.status_code >= 500 or response.status_code == 429:
        raise RelayUnavailable(f"{method} {path}: {response.status_code} {_message(response)}")
    if response.status_code >= 400:
        raise RelayRejected(response.status_code, _message(response))
    return response.json() if response.content else None


def _retry_after(response: httpx.Response, hint: float | None) -> float | None:
    """A 503's ``Retry-After`` (seconds) as a hint; the shortest one seen wins."""
    try:
        seconds = float(response.headers.get("retry-after", ""))
    except ValueError:
        return hint
    if seconds < 0:
        return hint
    return seconds if hint is None else min(hint, seconds)


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
