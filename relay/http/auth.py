"""Route-level authentication, and one authorization function per resource kind.

Every view declares its scope with ``@requires``. What a request touches is then
checked from stored state, never from the request body, by the one function for its
kind (``allow_agent``, ``allow_workspace``, the orchestrators' and who is a command's target
in ``relay.http.orchestrator_auth``, the commands' in ``relay.http.command_auth``, the merge
leases' in ``relay.http.lease_auth``), which every route, the command channel and the MCP
tools share. The event stream's guard for constrained callers is
``relay.http.event_guard``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from functools import wraps
from typing import Any, TypeVar, cast

from quart import g, has_request_context, request, websocket

from relay.actors import agent, artifacts
from relay.actors.memory import acting, visibility
from relay.actors.memory.visibility import MemoryAction
from relay.auth.access import (
    Principal,
    Resource,
    acts_for,
    authorize,
    covers,
    hosted_within,
    is_operator,
    is_unconstrained_operator,
    reaches,
    within_cwd,
)
from relay.domain.agents import Placement
from relay.domain.artifacts import Artifact
from relay.domain.memory import Memory, Scope, Viewer
from relay.domain.workspaces import Workspace
from relay.errors import Forbidden, NotFound
from relay.http.services import services
from relay.store import agents as agent_store
from relay.store import orchestrators as orchestrator_store

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

SCOPE_ATTRIBUTE = "relay_scope"
PUBLIC = "public"
AUTHENTICATED = "authenticated"  # any valid credential, no particular scope


def requires(scope: str, *alternatives: str) -> Callable[[F], F]:
    """Authenticate the caller (401) and check it holds ``scope`` (403) before the view runs.

    With ``alternatives`` any one of the scopes lets the caller in; the view then names
    the scope its action needs in ``allow(resource, scope)``.
    """
    scopes = (scope, *alternatives)

    def decorator(view: F) -> F:
        @wraps(view)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            headers = request.headers if has_request_context() else websocket.headers
            principal = services().auth.authenticate(headers.get("Authorization"))
            if scope != AUTHENTICATED and not any(principal.has_scope(each) for each in scopes):
                raise Forbidden("forbidden")
            g.principal = principal
            g.scope = scope
            return await view(*args, **kwargs)

        setattr(wrapper, SCOPE_ATTRIBUTE, " | ".join(scopes))
        return cast(F, wrapper)

    return decorator


def public(view: F) -> F:
    """Mark a view as deliberately unauthenticated (health, metrics)."""
    setattr(view, SCOPE_ATTRIBUTE, PUBLIC)
    return view


def principal() -> Principal:
    current: Principal = g.principal
    return current


def allow(resource: Resource, scope: str | None = None) -> None:
    """403 unless the caller's constraints cover ``resource`` (and it holds ``scope``)."""
    authorize(principal(), scope or g.scope, resource)


def can_see(resource: Resource) -> bool:
    """For lists: whether the caller's constraints cover this item."""
    return covers(principal(), resource)


def can_see_agent(agent_id: str, placement: Placement) -> bool:
    """For lists of agents: whether the caller reaches this agent where it is stored, as
    ``allow_agent`` judges it (``access.reaches``)."""
    return reaches(principal(), agent_id, placement)


async def agents_within_paths() -> frozenset[str] | None:
    """For a caller limited by path, the stored agents it reaches (``can_see_agent``): what
    reads about agents in bulk (the activity feed) keep; None for any other caller, whose
    other constraints those reads apply as filters of their own."""
    if not limited_by("cwd"):
        return None
    caller = principal()
    stored = await services().runtime.store.run(agent_store.all_placements)
    return frozenset(a for a, place in stored.items() if reaches(caller, a, place))


async def hosts_within_paths() -> frozenset[str] | None:
    """For a caller limited by path, the orchestrators whose stored ``baseDir`` lies within
    its paths: what it reads of the hosts in bulk (their activity rows naming no agent);
    None for any other caller. (The event stream's guard judges the same rows on the
    ``baseDir`` each host's registration, or the start-up recovery, keeps in memory.)"""
    if not limited_by("cwd"):
        return None
    caller = principal()
    stored = await services().runtime.store.run(orchestrator_store.base_dirs_of)
    return frozenset(o for o, base_dir in stored.items() if within_cwd(caller, base_dir))


def allow_relay_wide() -> None:
    """403 unless the caller carries no constraint: for what reaches every owner's agents
    or hosts at once (a channel binding by label, tag or capability; the relay-wide config,
    ``relay.http.config_auth``), which no constraint covers."""
    if principal().constraints:
        raise Forbidden("forbidden")


async def allow_agent(
    agent_id: str,
    orchestrator_id: str | None = None,
    scope: str | None = None,
    *,
    registering: bool = False,
) -> None:
    """Agents: the agent, and where it is stored (``access.reaches``): the orchestrator it is
    registered under (a token limited to orchestrator o1 may not touch o2's agents) and, for
    a caller limited by path, its working directory (a token limited to ``/srv/o1`` may not
    read, patch, delete or command an agent working in ``/srv/o2``, nor one that recorded no
    place, but as its own token or its host's). ``orchestrator_id`` is the one a
    registration names, checked as well; a constrained caller moving an existing agent
    under it (from none, or another) must act for the agent as stored
    (``access.acts_for``): an orchestrator's token adopting an agent of no orchestrator
    would act for it from then on.

    ``registering``: a new agent is registered under ``orchestrator_id``. Under none, it
    is on no host, which a caller limited by orchestrator reaches only by naming the agent
    (``access.hosted_within``): it would write a card it could not read from then on.

    Only a caller limited by orchestrator or path, or a constrained one naming an
    orchestrator, pays for the look-up of the agent's card (from memory, mostly), and for
    an unknown agent of the deleted one (``_allow_taking_a_deleted_id``).
    """
    allow(Resource(agent_id=agent_id, orchestrator_id=orchestrator_id), scope)
    caller = principal()
    moving = orchestrator_id is not None and not caller.is_root and bool(caller.constraints)
    if not (limited_by("orchestrators") or limited_by("cwd") or moving):
        return
    placements = await agent_placements([agent_id])
    if agent_id not in placements:
        if registering and not hosted_within(caller, agent_id, orchestrator_id):
            raise Forbidden("forbidden")
        # A new agent: the constraints checked above decide, and, for an id taken before,
        # the orchestrator it was deleted under.
        await _allow_taking_a_deleted_id(agent_id, scope)
        return
    stored = placements[agent_id]
    owner = stored.orchestrator_id
    if owner is not None:
        allow(Resource(orchestrator_id=owner), scope)
    if not reaches(caller, agent_id, stored):
        raise Forbidden("forbidden")
    if moving and owner != orchestrator_id and not acts_for(caller, agent_id, stored):
        raise Forbidden("forbidden")


async def _allow_taking_a_deleted_id(agent_id: str, scope: str | None) -> None:
    """A deleted agent's messages and conversations stay under its id, and whoever acts for
    an agent of that id reads them: a constrained caller registers the id again only as
    one covering the orchestrator it was deleted under (none: only a caller not limited by
    orchestrator, which was never an orchestrator's to act for)."""
    caller = principal()
    if caller.is_root or not caller.constraints:
        return
    deleted, owner = await services().runtime.store.run(lambda: agent_store.tombstone(agent_id))
    if not deleted:
        return
    if owner is not None:
        allow(Resource(orchestrator_id=owner), scope)
    elif limited_by("orchestrators"):
        raise Forbidden("forbidden")
    # Where it worked is not kept: as an agent that recorded no cwd, a path limit alone
    # reaches it not (its own token and its host's do), whatever cwd the new card says.
    if limited_by("cwd") and not acts_for(caller, agent_id, Placement(owner, None)):
        raise Forbidden("forbidden")


async def allow_acting_for(agent_id: str) -> str | None:
    """403 ``forbidden`` unless the caller acts for ``agent_id`` (``access.acts_for``), judged
    on where the agent is stored (its orchestrator and cwd); 404 ``agent not found`` for an
    unknown agent the caller could otherwise act for. Returns that orchestrator id.

    The one check of messaging, inboxes and MCP: every route and tool calls it.
    """
    caller = principal()
    placements = await agent_placements([agent_id])
    if agent_id not in placements:
        # Unknown: said only to a caller who would act for it, were it there (an operator,
        # or a token naming it); others learn nothing about which ids exist.
        if acts_for(caller, agent_id, None):
            raise NotFound("agent not found")
        raise Forbidden("forbidden")
    stored = placements[agent_id]
    if not acts_for(caller, agent_id, stored):
        raise Forbidden("forbidden")
    return stored.orchestrator_id


async def agent_orchestrators(agent_ids: Iterable[str]) -> dict[str, str | None]:
    """The orchestrator of each known agent (unknown agents are left out), as its actor
    holds it, else as stored (``agent.orchestrators_of``)."""
    return await agent.orchestrators_of(services().runtime, agent_ids)


async def agent_placements(agent_ids: Iterable[str]) -> dict[str, Placement]:
    """Where each known agent is (unknown agents are left out), as its actor holds it, else
    as stored (``agent.placements_of``): what ``acts_for`` judges."""
    return await agent.placements_of(services().runtime, agent_ids)


def limited_by(constraint: str) -> bool:
    """Whether the caller (not root) carries a constraint of this kind."""
    caller = principal()
    return not caller.is_root and constraint in caller.constraints


# -- workspaces ------------------------------------------------------------------------


def workspace_resource(ws: Workspace) -> Resource:
    """What a workspace touches, all from its stored record: its agent, its orchestrator
    and each of its paths (``cwd`` is checked for every path by ``may_touch_workspace``)."""
    return Resource(agent_id=ws.agent_id, orchestrator_id=ws.orchestrator_id, cwd=ws.worktree_path)


async def workspace_agent_places(workspaces: Iterable[Workspace]) -> dict[str, Placement]:
    """Where each workspace's agent is stored, for a caller limited by orchestrator or path
    (``allow_agent``'s look-up; nobody else pays for it)."""
    if not (limited_by("orchestrators") or limited_by("cwd")):
        return {}
    return await agent_placements({ws.agent_id for ws in workspaces if ws.agent_id})


def may_touch_workspace(ws: Workspace, agent_places: Mapping[str, Placement]) -> bool:
    """Workspaces: whether the caller's constraints cover the stored workspace, never what a
    request body says about it: its agent, orchestrator and paths, and its agent where it is
    stored (``agent_places``, from ``workspace_agent_places``), as ``allow_agent`` judges
    that agent (``access.reaches``: its orchestrator and, for a caller limited by path, its
    working directory). An agent no longer stored is judged by the workspace's fields."""
    caller = principal()
    place = agent_places.get(ws.agent_id) if ws.agent_id is not None else None
    if ws.agent_id is not None and place is not None and not reaches(caller, ws.agent_id, place):
        return False
    owner = None if place is None else place.orchestrator_id
    paths = (ws.worktree_path, ws.repo_root, ws.source_cwd)
    resources = workspace_resources(ws.agent_id, ws.orchestrator_id, paths, owner)
    return all(covers(caller, resource) for resource in resources)


_NO_AGENT = ""
_NO_HOST = ""


def workspace_resources(
    agent_id: str | None,
    orchestrator_id: str | None,
    paths: Iterable[str | None],
    agent_owner: str | None,
) -> list[Resource]:
    """What a workspace touches, every one of which the caller's constraints must cover: its
    agent and orchestrator with each of its paths, and the orchestrator its agent is stored
    under (``agent_owner``, when known). For the workspace reads and the event stream's
    guard (``relay.http.event_guard``) alike."""
    # A caller limited to agents reaches a workspace only through one of them: one naming
    # no agent is a host's (the daemon records its worktrees so), not its agent's.
    # ``covers`` skips a field left None, so "no agent" is the empty id, which no
    # constraint lists and a caller without an agents constraint does not judge. Likewise
    # a caller limited to orchestrators reaches one only through a host: a record naming
    # none, of no agent stored under one, is on no host it names.
    if orchestrator_id is None and agent_owner is None:
        orchestrator_id = _NO_HOST
    base = Resource(
        agent_id=_NO_AGENT if agent_id is None else agent_id, orchestrator_id=orchestrator_id
    )
    resources = [replace(base, cwd=path) for path in paths if path is not None] or [base]
    if agent_owner is not None:
        resources.append(Resource(orchestrator_id=agent_owner))
    return resources


async def visible_workspaces(workspaces: Iterable[Workspace]) -> list[Workspace]:
    """For lists: the workspaces the caller may touch (``may_touch_workspace``)."""
    found = list(workspaces)
    places = await workspace_agent_places(found)
    return [ws for ws in found if may_touch_workspace(ws, places)]


async def allow_workspace(ws: Workspace, scope: str | None = None) -> None:
    """``allow`` for one stored workspace (403 unless ``may_touch_workspace``)."""
    allow(workspace_resource(ws), scope)
    if not may_touch_workspace(ws, await workspace_agent_places([ws])):
        raise Forbidden("forbidden")


# -- artifacts -------------------------------------------------------------------------


async def allow_artifact(artifact_id: str) -> Artifact:
    """Artifacts: the stored artifact if the caller may read it (secret ones: operators,
    the creator, agents it acts for holding it; ``relay.actors.artifacts.may_read``);
    404 ``artifact not found``, else 403."""
    return await artifacts.allow_artifact(services().runtime, principal(), artifact_id)


# -- memory ----------------------------------------------------------------------------


async def memory_viewer() -> Viewer:
    """The caller as memory rules see it: an operator, or the agents it acts for (judged
    on their stored orchestrators) and its ``cwd`` constraint. 403 when it acts for none."""
    viewer = await memory_caller()
    if not viewer.operator and not viewer.agents:
        raise Forbidden("forbidden")
    return viewer


async def memory_caller() -> Viewer:
    """``memory_viewer``, with no 403: its agents may be none (the event stream's guard
    judges them again per event, ``MemoryEvents``). The agents counted are those
    ``acting.acts_for_memory`` keeps, looked up where the caller's constraints reach."""
    caller = principal()
    if is_unconstrained_operator(caller):
        return Viewer(operator=True)
    # A constrained operator (dashboard) token is judged like any token: by the agents
    # its constraints name (or those of the orchestrators they name) and its cwd.
    candidates = set(caller.constraints.get("agents", ()))
    orchestrator_ids = tuple(caller.constraints.get("orchestrators", ()))
    if (caller.role == "orchestrator" or is_operator(caller)) and orchestrator_ids:
        runtime = services().runtime
        candidates |= set(
            await runtime.store.run(lambda: agent_store.ids_of_orchestrators(orchestrator_ids))
        )
    if is_operator(caller) and not candidates and "agents" not in caller.constraints:
        # Limited by path alone: the stored agents working within its paths, as the broker
        # and every other acting-for check judge it.
        candidates = set(await agents_within_paths() or ())
    placements = await agent_placements(candidates)
    return acting.viewer_of(
        caller, (a for a in candidates if acting.acts_for_memory(caller, a, placements.get(a)))
    )


async def allow_memory(
    action: MemoryAction,
    memory: Memory | None = None,
    *,
    scope: Scope | None = None,
    scope_key: str | None = None,
    viewer: Viewer | None = None,
) -> Viewer:
    """Memories, for every route and MCP tool: the caller as a ``Viewer`` (``viewer``, if
    ``memory_viewer`` already made it), judged by ``visibility.authorize`` (``read``,
    ``create`` in ``scope``/``scopeKey``, ``change`` a stored memory). Updates and deletes
    pass the viewer on to MemoryActor, which judges them again on the version it writes."""
    viewer = viewer or await memory_viewer()
    visibility.authorize(viewer, action, memory, scope=scope, scope_key=scope_key)
    return viewer
