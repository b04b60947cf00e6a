"""Orchestrator use cases the HTTP routes, the channel and the maintenance jobs share."""

from __future__ import annotations

from typing import Any

from relay.actors.orchestrator import messages as orchestrator
from relay.actors.orchestrator.rules import runtime_token_spec
from relay.actors.runtime.context import Runtime
from relay.actors.runtime.reaping import reap
from relay.auth.authenticator import Authenticator
from relay.auth.profiles import ORCHESTRATOR
from relay.domain.activity import ActivityInput
from relay.domain.commands import Command, CommandSpec
from relay.domain.orchestrators import Orchestrator, OrchestratorRegistration
from relay.domain.tokens import TokenRecord
from relay.store import orchestrators as orchestrator_store
from relay.store import tokens as token_store


async def register_orchestrator(
    rt: Runtime,
    auth: Authenticator,
    registration: OrchestratorRegistration,
    scope: tuple[str, ...] = ORCHESTRATOR.scope,
) -> tuple[Orchestrator, bool, str]:
    """Register (or refresh) an orchestrator and mint its runtime token, with a record:
    the orchestrator profile's scopes, or those of them the registrant may hand out.

    The record lists the token in ``GET /api/tokens`` (profile ``orchestrator``), so it
    can be revoked there. A re-registration's new token does not revoke the previous
    one, which expires on its own (as a renewal's does): the daemon re-registers with
    that token while its channel, polls and heartbeats are still in flight on it, and
    again whenever the relay has forgotten it, so revoking it would cut its own channel
    (4401) and turn those requests into 401s.

    Returns:
        ``(orchestrator, created, token)``.

    Raises:
        Unavailable: the store did not answer in time (the token is then not handed out).
    """
    orch, created = await rt.registry.ask(
        orchestrator.KIND, registration.id, orchestrator.Register(registration)
    )
    rt.routing.orchestrator_exists(orch.id)
    token, claims = auth.mint(runtime_token_spec(orch, scope))
    record = TokenRecord.of(
        claims, profile_id=ORCHESTRATOR.id, created_by=f"registration:{orch.id}"
    )
    await rt.store.write(lambda: token_store.insert(record))
    return orch, created, token


async def enqueue_if_online(
    rt: Runtime, spec: CommandSpec, *, audits: tuple[ActivityInput, ...] = ()
) -> Command:
    """Queue on an orchestrator only if it is online now (checked inside its actor)."""
    message = orchestrator.EnqueueIfOnline(spec, audits=audits)
    return await rt.registry.ask(orchestrator.KIND, spec.target, message)


async def reap_orchestrators(rt: Runtime) -> list[Orchestrator]:
    """The same stale rule for orchestrators, with their own thresholds."""
    settings = rt.settings
    return await reap(
        rt,
        orchestrator.KIND,
        orchestrator.Reap(),
        orchestrator_store.due_for_reaping,
        settings.orchestrator_stale_seconds,
        settings.orchestrator_offline_seconds,
    )


async def orchestrator_reaper(rt: Runtime) -> dict[str, Any]:
    """Maintenance job: move silent orchestrators online → stale → offline."""
    return {"changed": len(await reap_orchestrators(rt))}


async def remember_hosts(rt: Runtime) -> dict[str, int]:
    """Start-up recovery: every stored orchestrator, with its ``baseDir``, in
    ``rt.routing``, where the event stream's guard judges a path-limited caller's host
    rows without a store read (each registration records its own from then on). A
    registration committed during the read keeps its value (``base_dir_read``)."""
    stored = await rt.store.run(orchestrator_store.base_dirs_of)
    for orchestrator_id, base_dir in stored.items():
        rt.routing.orchestrator_exists(orchestrator_id)
        rt.routing.base_dir_read(orchestrator_id, base_dir)
    return {"orchestrators": len(stored)}
