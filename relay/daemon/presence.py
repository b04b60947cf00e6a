"""Being known to the relay: registration, heartbeats, runtime-token renewal, and the
relay calls command handlers make (workspace records, agent registrations)."""

from __future__ import annotations

import base64
import json
import logging
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import trio

from relay import __version__
from relay.daemon import sessions
from relay.daemon.backoff import Backoff, jittered
from relay.daemon.client import RelayClient, RelayRejected, RelayUnavailable, retry_delay
from relay.daemon.config import DaemonSettings
from relay.daemon.context import Host
from relay.daemon.outcome import JSON, CommandFailed
from relay.daemon.paths import BaseDir
from relay.daemon.providers import PROVIDERS
from relay.daemon.state import OrchestratorState, save

log = logging.getLogger("relay.daemon")

CONTRACTS = {"commands": 1, "workspaces": 1, "channel": "websocket+long-poll"}
RECORD_ATTEMPTS = 3
NO_CREDENTIAL_HELP = (
    "no token: pass --token (or set RELAY_TOKEN) with a token from "
    "`relay token create --profile orchestrator --sub <name>`"
)


class DaemonError(Exception):
    """The daemon cannot run as configured (the message says what to change)."""


def runtime_info() -> JSON:
    return {"version": __version__, "contracts": CONTRACTS}


def capabilities(settings: DaemonSettings, command_types: list[str]) -> JSON:
    strategies = ["rebase-ff", "auto"]
    if shutil.which(settings.gh_command):
        strategies.append("pr")
    return {
        "providers": list(PROVIDERS),
        "commands": command_types,
        "mergeStrategies": strategies,
        "tmux": shutil.which(settings.tmux_command) is not None,
        "git": shutil.which(settings.git_command) is not None,
    }


@dataclass(slots=True)
class Registration:
    state: OrchestratorState
    heartbeat_interval: float


async def register(
    client: RelayClient,
    settings: DaemonSettings,
    base: BaseDir,
    state: OrchestratorState,
    command_types: list[str],
    backoff: Backoff,
) -> Registration:
    """Register (idempotent on the kept id), retrying while the relay is unreachable.

    Tries the kept runtime token first, then the configured one. Saves the id and the
    new runtime token to the state file.

    Raises:
        DaemonError: no token, or the relay refused every token or the registration.
    """
    tokens = [token for token in dict.fromkeys([state.token, settings.token]) if token]
    if not tokens:
        raise DaemonError(NO_CREDENTIAL_HELP)
    body = {
        "id": state.id,
        "name": state.name,
        "host": socket.gethostname(),
        "baseDir": str(base.root),
        "capabilities": capabilities(settings, command_types),
        "runtime": runtime_info(),
    }
    while True:
        refusals: list[str] = []
        try:
            for token in tokens:
                try:
                    reply = await client.register_orchestrator(body, token=token)
                except RelayRejected as exc:
                    if exc.status not in (401, 403):
                        raise DaemonError(
                            f"the relay refused the registration: {exc.message}"
                        ) from exc
                    refusals.append(exc.message)
                    continue
                return _registered(client, settings, state, reply)
        except RelayUnavailable as exc:
            delay = retry_delay(backoff.next(), exc)
            log.warning("register_unavailable error=%s retry_in=%.1f", exc, delay)
            await trio.sleep(delay)
            continue
        raise DaemonError(
            f"the relay refused every token for orchestrator {state.id} ({', '.join(refusals)}); "
            "pass a valid --token"
        )


def _registered(
    client: RelayClient, settings: DaemonSettings, state: OrchestratorState, reply: JSON
) -> Registration:
    token = reply.get("token")
    if not isinstance(token, str) or not token:
        raise DaemonError("the relay's registration reply has no runtime token")
    client.token = token
    kept = state.with_token(token, ",".join(settings.url))
    save(settings.state_dir, kept)
    interval = float(reply.get("heartbeatIntervalSeconds") or 10)
    log.info("registered orchestrator=%s heartbeat_s=%s", kept.id, interval)
    return Registration(kept, interval)


async def heartbeats(
    client: RelayClient,
    host: Host,
    registration: Registration,
    reregister: Callable[[], Any],
) -> None:
    """Every interval (minus up to 20 % jitter): the orchestrator's heartbeat with its live
    sessions, each session's agent heartbeat, and a token renewal when one is due."""
    while True:
        await trio.sleep(jittered(registration.heartbeat_interval))
        live = await sessions.live_sessions(host)
        managed = [
            {
                "agentId": s.agent_id,
                "sessionName": s.name,
                "provider": s.provider,
                "status": "running",
            }
            for s in live
        ]
        try:
            await client.heartbeat(
                host.orchestrator_id, {"managedAgents": managed, "runtime": runtime_info()}
            )
            for record in live:
                await _agent_heartbeat(client, host, record)
            await _renew_if_due(client, host.settings, registration)
        except RelayRejected as exc:
            log.warning("heartbeat_refused http=%s error=%s", exc.status, exc.message)
            if exc.status == 404:
                await reregister()
        except RelayUnavailable as exc:
            log.info("heartbeat_unavailable error=%s", exc)


async def _agent_heartbeat(client: RelayClient, host: Host, record: Any) -> None:
    try:
        await client.agent_heartbeat(record.agent_id)
    except RelayRejected as exc:
        if exc.status == 404:  # the relay forgot it (deleted, or a wiped relay): register again
            await client.register_agent(sessions.agent_card(host, record))


async def _renew_if_due(
    client: RelayClient, settings: DaemonSettings, registration: Registration
) -> None:
    claims = _claims(client.token)
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or not isinstance(iat, int):
        return
    if exp - time.time() > (exp - iat) / 3:
        return
    reply = await client.renew_token()
    token = reply.get("token")
    if isinstance(token, str) and token:
        client.token = token
        registration.state = registration.state.with_token(token, ",".join(settings.url))
        save(settings.state_dir, registration.state)
        log.info("token_renewed orchestrator=%s", registration.state.id)


def _claims(token: str | None) -> dict[str, Any]:
    """A JWT's payload, unverified (only to read when it expires)."""
    parts = (token or "").split(".")
    if len(parts) != 3:
        return {}
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


class RelayCalls:
    """The relay calls handlers make, with a few retries; implements ``RelayPort``."""

    def __init__(self, client: RelayClient, backoff: Callable[[], Backoff]) -> None:
        self.client = client
        self._backoff = backoff

    async def report_workspace(self, body: JSON) -> JSON | None:
        backoff = self._backoff()
        for _ in range(RECORD_ATTEMPTS):
            try:
                return await self.client.post_workspace(body)
            except RelayRejected as exc:
                if exc.status == 404 and exc.message == "not found":
                    return None  # a relay without the workspace API
                raise CommandFailed(
                    f"the relay refused the workspace record: {exc.message}"
                ) from exc
            except RelayUnavailable as exc:
                log.info("workspace_record_unavailable error=%s", exc)
                await trio.sleep(backoff.next())
        raise CommandFailed("the relay did not take the workspace record (unreachable)")

    async def register_agent(self, body: JSON) -> JSON | None:
        backoff = self._backoff()
        for _ in range(RECORD_ATTEMPTS):
            try:
                return await self.client.register_agent(body)
            except RelayRejected as exc:
                log.warning("agent_register_refused agent=%s error=%s", body.get("id"), exc.message)
                return None
            except RelayUnavailable as exc:
                log.info("agent_register_unavailable error=%s", exc)
                await trio.sleep(backoff.next())
        return None
