"""Spawning a new session: ``spawn_agent`` queues ``agent.spawn`` on an online orchestrator
with the new session's runner token."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import trio

from relay.actors.agent.rules import check_spawn_cwd, spawn_params
from relay.actors.orchestrator import flows as orchestrator_flows
from relay.actors.orchestrator.messages import NOT_ONLINE
from relay.actors.runtime.context import Runtime
from relay.actors.tokens.issuing import revoke
from relay.actors.tokens.runner_tokens import mint_runner_token
from relay.auth.access import Resource
from relay.auth.authenticator import Authenticator
from relay.domain.agents import SpawnRequest
from relay.domain.commands import Command, CommandSpec
from relay.errors import Conflict, NotFound, RelayError, Unavailable
from relay.store import commands as command_store
from relay.store import orchestrators as orchestrator_store

log = logging.getLogger("relay.actors.agent")

Authorize = Callable[[Resource], None]


def new_spawn_request_id(once: str | None = None) -> str:
    """A new spawn's id; under ``once`` (an automation's run for one event) always the same."""
    if once is not None:
        return f"sp_{uuid.uuid5(uuid.NAMESPACE_URL, 'relay-spawn:' + once)}"
    return f"sp_{uuid.uuid4()}"


def spawned_agent_id(spawn_request_id: str) -> str:
    """The id a new session registers under, named in its spawn (``params.agentId``), so its
    runner token can be bound to it before it exists (the daemon's own default is the same)."""
    return f"agent-{spawn_request_id}"


async def spawn_agent(
    rt: Runtime,
    auth: Authenticator,
    orchestrator_id: str,
    request: SpawnRequest,
    *,
    authorize: Authorize,
    requested_by: str,
    once: str | None = None,
) -> tuple[Command, str]:
    """Queue ``agent.spawn`` on an online orchestrator; returns ``(command, spawnRequestId)``.
    Under ``once`` a spawn already queued under it is returned, not queued again.

    Raises, in this order:
        Forbidden: from ``authorize``, for the orchestrator, the cwd, the spawn policy, the
            new spawn request and the new agent (a token limited to some agents may not
            add one: its constraints cannot name an agent that does not exist yet).
        NotFound: ``orchestrator not found``.
        Invalid: ``cwd must be inside the orchestrator's baseDir``.
        Conflict: ``orchestrator is not online`` (checked inside its actor).
    """
    spawn_request_id = new_spawn_request_id(once)
    if once is not None:
        queued = await rt.store.run(
            lambda: command_store.search(type_="agent.spawn", correlation_id=spawn_request_id)
        )
        if queued:
            return queued[0], spawn_request_id
    agent_id = spawned_agent_id(spawn_request_id)
    authorize(
        Resource(
            agent_id=agent_id,
            orchestrator_id=orchestrator_id,
            cwd=request.cwd,
            policy_name=request.policy_name,
            spawn_request_id=spawn_request_id,
        )
    )
    orch = await rt.store.run(lambda: orchestrator_store.load(orchestrator_id))
    if orch is None:
        raise NotFound("orchestrator not found")
    check_spawn_cwd(request, orch)
    if orch.status != "online":
        # Refused before a runner token is minted, so the 409 leaves nothing behind.
        raise Conflict(NOT_ONLINE)
    params = spawn_params(request, spawn_request_id=spawn_request_id, requested_by=requested_by)
    params["agentId"] = agent_id
    # The new session's own credential (sub runner:<spawnRequestId>), as the reference's
    # runnerRuntimeTokenEnv does; redacted everywhere but the orchestrator's channel.
    params["runnerToken"], record = await mint_runner_token(
        auth,
        rt,
        orchestrator_id=orchestrator_id,
        spawn_request_id=spawn_request_id,
        agent_id=agent_id,
        created_by=requested_by,
    )
    spec = CommandSpec(
        type="agent.spawn",
        target=orchestrator_id,
        target_kind="orchestrator",
        params=params,
        source=requested_by,
        correlation_id=spawn_request_id,
        ttl_seconds=rt.settings.command_default_ttl_seconds,
    )
    try:
        command = await orchestrator_flows.enqueue_if_online(rt, spec)
    except Exception as exc:
        # Refused (it went offline since the read above) or not written: nothing was
        # queued, so the token is handed to nobody. Not on Unavailable (nor a cancellation,
        # not caught here): the command's write may still commit.
        if not isinstance(exc, Unavailable):
            await revoke_unused(rt, auth, record.jti)
        raise
    return command, spawn_request_id


async def respawn_credentials(
    rt: Runtime,
    auth: Authenticator | None,
    orchestrator_id: str,
    spawn_request_id: str,
    agent_id: str,
) -> tuple[dict[str, str], str | None]:
    """What a respawned session authenticates with, merged into ``restartSpawn``: a runner
    token (sub ``runner:<spawnRequestId>``, bound to ``orchestrator_id`` and to the agent
    it comes back as), as spawn carries one; and that token's jti, to revoke it if the
    command is refused."""
    if auth is None:
        return {}, None
    token, record = await mint_runner_token(
        auth,
        rt,
        orchestrator_id=orchestrator_id,
        spawn_request_id=spawn_request_id,
        agent_id=agent_id,
    )
    return {"runnerToken": token}, record.jti


async def revoke_unused(rt: Runtime, auth: Authenticator, jti: str) -> None:
    """Revoke a runner token minted for a command that was refused, so handed to nobody.

    Shielded, as the refusal may come with a cancellation; a store failure is only logged
    (the token is denied in memory first), as the caller's own error is the one to report.
    """
    with trio.CancelScope(shield=True):
        try:
            await revoke(auth, rt, jti)
        except RelayError as exc:
            log.warning("runner_token_revoke_failed jti=%s error=%r", jti, exc)
