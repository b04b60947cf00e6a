"""Who is an orchestrator, or an agent, as a command target: ``is_target``, the one function
that decides it for every route, the command channel and the event stream, the checks
of what only an orchestrator itself does (its registration and reports), and what a
caller reads of an orchestrator's card (``cards_read_by_caller``).

Whether a constrained caller is an orchestrator depends on that orchestrator's stored
``baseDir``, which ``stored_base_dirs`` looks up (in memory, else in the store) once per
request, channel or stream and the caller passes in: ``is_target`` itself reads nothing
(the stream's guard judges every event with it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from relay.actors.orchestrator import runtime_token_constraints
from relay.actors.tokens.runner_tokens import is_runner
from relay.auth.access import (
    Principal,
    Resource,
    reaches,
    redacts_managed_agents,
    shows_managed_agent,
    within_cwd,
)
from relay.auth.grants import check_grantable
from relay.auth.profiles import ORCHESTRATOR
from relay.domain.commands import TargetKind
from relay.domain.orchestrators import Orchestrator, keeping_managed
from relay.errors import Forbidden
from relay.http.auth import agent_placements, allow, principal
from relay.http.services import services
from relay.store import orchestrators as orchestrator_store

BaseDirs = Mapping[str, str | None]
"""The stored ``baseDir`` of each orchestrator a caller's ``orchestrators`` constraint
names, None for one not stored (``stored_base_dirs``); empty for a caller whose
orchestrator-ness does not depend on it."""


async def stored_base_dirs(caller: Principal) -> BaseDirs:
    """What ``is_target`` judges a caller limited by ``cwd`` on: the stored ``baseDir`` of
    each orchestrator its constraints name, from memory (``Routing.base_dir``: a daemon's
    every long-poll, heartbeat and report asks), else in one store read. Asked once per
    request (the channel and the event stream: once when they open) and only for a caller
    that could be an orchestrator and is limited by path (a runtime token is): root, the
    unconstrained, and tokens bound to agents or a runner's never are, and pay nothing."""
    constraints = caller.constraints
    named = tuple(constraints.get("orchestrators", ()))
    if caller.is_root or "cwd" not in constraints or not _may_be_orchestrator(caller) or not named:
        return {}
    return await known_base_dirs(named)


async def known_base_dirs(orchestrator_ids: tuple[str, ...]) -> dict[str, str | None]:
    """The stored ``baseDir`` of each of these orchestrators, None for one not stored: from
    memory (``Routing.base_dir``, kept as each registration commits), else in one store
    read, which memory then keeps."""
    rt = services().runtime
    known = {
        orchestrator_id: rt.routing.base_dir(orchestrator_id)
        for orchestrator_id in orchestrator_ids
    }
    missing = tuple(orchestrator_id for orchestrator_id, found in known.items() if found is None)
    if missing:
        stored = await rt.store.run(lambda: orchestrator_store.base_dirs_of(missing))
        for orchestrator_id, base_dir in stored.items():
            rt.routing.base_dir_read(orchestrator_id, base_dir)
            known[orchestrator_id] = base_dir
    return known


def is_target(caller: Principal, kind: TargetKind, target: str, base_dirs: BaseDirs) -> bool:
    """Root, or a token constrained to exactly this target's kind and covering it.

    An orchestrator is an ``orchestrator``-role token limited to it by
    ``constraints.orchestrators``, bound to no agent, and whose ``cwd`` limit, if any,
    covers the orchestrator's stored ``baseDir`` (``base_dirs``, from
    ``stored_base_dirs``): its runtime token, ``{orchestrators: [o], cwd: [baseDir]}``, is.
    A token of another role is an operator's or a tool's, whatever it names: a dashboard
    limited to o1 reads and steers o1, but taking o1's queue would hand it the runner token
    of every spawn and restart there, which carries scopes it may not hold (a token with
    ``agent:write`` and ``command:read`` would read the restarted session's inbox). A token
    that also names ``agents`` is an
    agent's token, whatever its sub: it names its orchestrator only to reach its own agent
    (a runner token, ``runner:<spawnRequestId>``, or a provider agent's), and taking the
    orchestrator's queue, reports or registration would let it act for every sibling. A
    runner token is never its orchestrator either (as ``check_remint_caller`` judges it),
    even one minted without ``agents``. And a token narrowed to one path on the host
    (``cwd: [baseDir/x]``) is not the host: its queue carries the spawns, restarts and
    merges of sessions working anywhere under ``baseDir``, with their runner tokens.

    An orchestrator not stored is judged without its ``baseDir`` (a first registration,
    whose own check, ``check_grantable`` of the runtime token, covers the one it names);
    one ``base_dirs`` does not hold for a caller limited by path was not looked up, and
    makes it no orchestrator."""
    if caller.is_root:
        return True
    if kind == "orchestrator":
        return (
            target in caller.constraints.get("orchestrators", ())
            and _may_be_orchestrator(caller)
            and _covers_base_dir(caller, target, base_dirs)
        )
    return target in caller.constraints.get("agents", ())


def _may_be_orchestrator(caller: Principal) -> bool:
    return (
        caller.role == ORCHESTRATOR.role
        and "agents" not in caller.constraints
        and not is_runner(caller)
    )


def _covers_base_dir(caller: Principal, target: str, base_dirs: BaseDirs) -> bool:
    if "cwd" not in caller.constraints:
        return True
    if target not in base_dirs:
        return False
    base_dir = base_dirs[target]
    return base_dir is None or within_cwd(caller, base_dir)


async def allow_orchestrator_report(orchestrator_id: str) -> None:
    """What only an orchestrator itself does: its reports (its heartbeat, the sessions it
    manages, which keep it online and route its sessions' actions and wakes to it) and the
    re-mint of its runners' tokens. The caller covers it, and a constrained caller is it
    (``is_target``), as for its commands' progress; a token merely not kept from it (an
    agent's, or one limited to a path below its ``baseDir``) is not it."""
    allow(Resource(orchestrator_id=orchestrator_id))
    caller = principal()
    if caller.constraints and not is_target(
        caller, "orchestrator", orchestrator_id, await stored_base_dirs(caller)
    ):
        raise Forbidden("forbidden")


async def allow_orchestrator_registration(
    orchestrator_id: str, agent_id: str | None, base_dir: str
) -> tuple[str, ...]:
    """Registering an orchestrator, new or existing: the caller's constraints cover it, its
    agent and its ``baseDir``. The reply is the orchestrator's runtime token, which acts for
    every agent the orchestrator runs, now or later; so a constrained caller must already be
    that orchestrator (``is_target``: a token merely not kept from it, an agent's, is not
    it; for an existing one, judged on its stored ``baseDir``, so a token limited to a path
    below it cannot re-register it with that path as its ``baseDir`` and be it from then
    on), be it an id that exists or one it claims first. A token constrained otherwise (by
    ``cwd`` alone, say) squatting an id before its daemon came up would act for every
    session that daemon later runs, wherever they are.

    Returns the scopes the runtime token carries, never one the caller lacks
    (``grants.check_grantable``). Another role must hold the whole profile: a token with
    ``agent:write`` alone would be handed ``message:read`` over every agent of that
    orchestrator. An ``orchestrator`` token (a daemon's runtime token, or the one it was
    started with) gets the profile's scopes it holds: one minted before this relay's
    profile gained a scope re-registers with what it had, where a 403 would stop every
    daemon of a fleet at the relay's upgrade until an operator re-issued their tokens.
    """
    allow(Resource(orchestrator_id=orchestrator_id, agent_id=agent_id, cwd=base_dir))
    caller = principal()
    if caller.is_root:
        return ORCHESTRATOR.scope
    if caller.constraints and not is_target(
        caller, "orchestrator", orchestrator_id, await stored_base_dirs(caller)
    ):
        raise Forbidden("forbidden")
    if caller.constraints:
        await _claims_nothing_of_another_host(caller, orchestrator_id, agent_id)
    scope = ORCHESTRATOR.scope
    if caller.role == ORCHESTRATOR.role:
        scope = tuple(entry for entry in scope if caller.has_scope(entry))
    check_grantable(caller, scope, runtime_token_constraints(orchestrator_id, base_dir))
    return scope


async def _claims_nothing_of_another_host(
    caller: Principal, orchestrator_id: str, agent_id: str | None
) -> None:
    """403 unless a constrained caller's registration leaves every other host's sessions
    where they are. A host's ``agentId`` decides which commands it is sent (a target naming
    it resolves to the host): a token limited to o1 alone, which is o1 (``is_target``),
    re-registering o1 with o2's id, o2's agent id or one of o2's agents as its own would
    take what is meant for them from o1's queue. So its ``agentId`` may not name another
    host (its id or agent id) nor an agent the caller does not reach where it is stored.

    Its ``baseDir`` is not judged against the other hosts': two hosts may well work in the
    same path on their own machines. What a ``baseDir`` routes (the owner of a workspace
    the merge of which is asked) prefers the host the workspace names (``repo.owners``)."""
    if agent_id is None:
        return
    owner = await services().runtime.store.run(lambda: orchestrator_store.resolve_target(agent_id))
    if owner is not None and owner != orchestrator_id:
        raise Forbidden("forbidden")
    place = (await agent_placements([agent_id])).get(agent_id)
    if place is not None and not reaches(caller, agent_id, place):
        raise Forbidden("forbidden")


async def cards_read_by_caller(found: Sequence[Orchestrator]) -> list[dict[str, Any]]:
    """The cards of these orchestrators (which the caller's constraints cover) as it reads
    them: for a caller whose constraints limit the agents it reads, ``managedAgents`` lists
    only the agents it reaches where they are stored (``access.shows_managed_agent``, read
    from the agents' memory, else in one store read for all the cards), as the event
    stream's guard serves the same cards (``ConstrainedEvents.redact``). Root and other
    callers read them whole and pay for no look-up.

    The registration, heartbeat and report replies are judged here too: ``is_target``
    admits to those routes a token that names the host and is not limited by path, an
    operator's dashboard limited to it included, which must not read there what
    ``GET`` withholds."""
    cards = [orch.to_json() for orch in found]
    caller = principal()
    if not redacts_managed_agents(caller):
        return cards
    places = await agent_placements({m.agent_id for orch in found for m in orch.managed_agents})

    def shown(agent_id: str) -> bool:
        return shows_managed_agent(caller, agent_id, places.get(agent_id))

    return [keeping_managed(card, shown) for card in cards]
