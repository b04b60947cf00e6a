"""Route-level authentication, and one authorization function per resource kind.

Every view declares its scope with ``@requires``. What a request touches is then
checked from stored state, never from the request body, by the one function for its
kind (``allow_agent``, ``allow_workspace``, ``allow_command_target``,
``allow_command_report``), which every route and the command channel share.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from functools import wraps
from typing import Any, TypeVar, cast

from quart import g, has_request_context, request, websocket

from relay.actors import agent, artifacts
from relay.actors.memory import visibility
from relay.actors.memory.visibility import MemoryAction
from relay.actors.runtime.directory import AgentDirectory
from relay.actors.tokens.runner_tokens import is_runner
from relay.auth.access import (
    Principal,
    Resource,
    acts_for,
    authorize,
    covers,
    is_operator,
    is_unconstrained_operator,
    normalise_path,
    own_agent,
)
from relay.auth.grants import check_grantable
from relay.domain.artifacts import Artifact
from relay.domain.commands import Command, TargetKind
from relay.domain.memory import Memory, Scope, Viewer
from relay.domain.tokens import TokenRecord
from relay.domain.workspaces import Workspace
from relay.errors import Forbidden, NotFound
from relay.events import EventGuard
from relay.http.services import services
from relay.store import agents as agent_store
from relay.store import orchestrators as orchestrator_store
from relay.store.stream import StreamEvent

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


async def allow_agent(
    agent_id: str, orchestrator_id: str | None = None, scope: str | None = None
) -> None:
    """Agents: the agent, and the orchestrator it is registered under as stored (a token
    limited to orchestrator o1 may not touch o2's agents). ``orchestrator_id`` is the one a
    registration names, checked as well; a constrained caller moving an existing agent
    under it (from none, or another) must act for the agent as stored
    (``access.acts_for``): an orchestrator's token adopting an agent of no orchestrator
    would act for it from then on.

    Only a caller limited by orchestrator, or a constrained one naming an orchestrator,
    pays for the look-up of the agent's card.
    """
    allow(Resource(agent_id=agent_id, orchestrator_id=orchestrator_id), scope)
    caller = principal()
    moving = orchestrator_id is not None and not caller.is_root and bool(caller.constraints)
    if not (_limited_by("orchestrators") or moving):
        return
    owners = await agent_orchestrators([agent_id])
    if agent_id not in owners:
        return  # a new agent: the constraints checked above decide
    owner = owners[agent_id]
    if owner is not None:
        allow(Resource(orchestrator_id=owner), scope)
    if moving and owner != orchestrator_id and not acts_for(caller, agent_id, owner):
        raise Forbidden("forbidden")


async def allow_acting_for(agent_id: str) -> str | None:
    """403 ``forbidden`` unless the caller acts for ``agent_id`` (``access.acts_for``), judged
    on the orchestrator the agent is stored under; 404 ``agent not found`` for an unknown
    agent the caller could otherwise act for. Returns that orchestrator id.

    The one check of messaging, inboxes and MCP: every route and tool calls it.
    """
    caller = principal()
    owners = await agent_orchestrators([agent_id])
    if agent_id not in owners:
        # Unknown: said only to a caller who would act for it, were it there (an operator,
        # or a token naming it); others learn nothing about which ids exist.
        if acts_for(caller, agent_id, None):
            raise NotFound("agent not found")
        raise Forbidden("forbidden")
    owner = owners[agent_id]
    if not acts_for(caller, agent_id, owner):
        raise Forbidden("forbidden")
    return owner


async def agent_orchestrators(agent_ids: Iterable[str]) -> dict[str, str | None]:
    """The orchestrator of each known agent (unknown agents are left out), as its actor
    holds it, else as stored (``agent.orchestrators_of``)."""
    return await agent.orchestrators_of(services().runtime, agent_ids)


def _limited_by(constraint: str) -> bool:
    caller = principal()
    return not caller.is_root and constraint in caller.constraints


# -- orchestrators ---------------------------------------------------------------------


def allow_orchestrator_report(orchestrator_id: str) -> None:
    """What only an orchestrator itself does: its reports (its heartbeat, the sessions it
    manages, which keep it online and route its sessions' actions and wakes to it) and the
    re-mint of its runners' tokens. The caller covers it, and a constrained caller has a
    constraint that names it (``is_target``), as for its commands' progress; a token
    merely not kept from it (an agent's) is not it."""
    allow(Resource(orchestrator_id=orchestrator_id))
    caller = principal()
    if caller.constraints and not is_target(caller, "orchestrator", orchestrator_id):
        raise Forbidden("forbidden")


async def allow_orchestrator_registration(
    orchestrator_id: str, agent_id: str | None, base_dir: str
) -> None:
    """Registering an orchestrator: the caller's constraints cover it, its agent and its
    ``baseDir``; and since the reply is the orchestrator's runtime token, re-registering an
    existing one takes, from a constrained caller, a constraint that names it
    (``is_target``): a token that is merely not kept from it (an agent's) is not it."""
    allow(Resource(orchestrator_id=orchestrator_id, agent_id=agent_id, cwd=base_dir))
    caller = principal()
    if caller.is_root or not caller.constraints:
        return
    if is_target(caller, "orchestrator", orchestrator_id):
        return
    store = services().runtime.store
    if await store.run(lambda: orchestrator_store.load(orchestrator_id)) is not None:
        raise Forbidden("forbidden")


# -- workspaces ------------------------------------------------------------------------


def workspace_resource(ws: Workspace) -> Resource:
    """What a workspace touches, all from its stored record: its agent, its orchestrator
    and each of its paths (``cwd`` is checked for every path by ``may_touch_workspace``)."""
    return Resource(agent_id=ws.agent_id, orchestrator_id=ws.orchestrator_id, cwd=ws.worktree_path)


async def workspace_agent_owners(workspaces: Iterable[Workspace]) -> dict[str, str | None]:
    """The stored orchestrator of each workspace's agent, for a caller limited by
    orchestrator (``allow_agent``'s look-up; nobody else pays for it)."""
    if not _limited_by("orchestrators"):
        return {}
    return await agent_orchestrators({ws.agent_id for ws in workspaces if ws.agent_id})


def may_touch_workspace(ws: Workspace, agent_owners: Mapping[str, str | None]) -> bool:
    """Workspaces: whether the caller's constraints cover the stored workspace, never what a
    request body says about it: its agent, orchestrator and paths, and the orchestrator its
    agent is stored under (``agent_owners``, from ``workspace_agent_owners``), as
    ``allow_agent`` judges that agent."""
    base = workspace_resource(ws)
    if not all(
        covers(principal(), replace(base, cwd=path))
        for path in (ws.worktree_path, ws.repo_root, ws.source_cwd)
    ):
        return False
    owner = agent_owners.get(ws.agent_id) if ws.agent_id is not None else None
    return owner is None or covers(principal(), Resource(orchestrator_id=owner))


async def visible_workspaces(workspaces: Iterable[Workspace]) -> list[Workspace]:
    """For lists: the workspaces the caller may touch (``may_touch_workspace``)."""
    found = list(workspaces)
    owners = await workspace_agent_owners(found)
    return [ws for ws in found if may_touch_workspace(ws, owners)]


async def allow_workspace(ws: Workspace, scope: str | None = None) -> None:
    """``allow`` for one stored workspace (403 unless ``may_touch_workspace``)."""
    allow(workspace_resource(ws), scope)
    if not may_touch_workspace(ws, await workspace_agent_owners([ws])):
        raise Forbidden("forbidden")


# -- the event stream ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConstrainedEvents:
    """A stream's guard (``relay.events.EventGuard``) for a constrained caller: an
    ``agent``, ``orchestrator``, ``command``, ``workspace`` or ``lease`` event passes only if
    the caller's constraints cover the resource it carries, as that resource's own reads
    judge it (``can_see`` of the agent lists, ``visible_commands``, ``may_touch_workspace``,
    the lease list), live and on replay alike; other events pass, then ``then`` decides.

    The stream's own filter judges an event by the agent it names only: an orchestrator's
    runtime token (limited to its orchestrator and ``baseDir``) would otherwise be streamed
    every other orchestrator's agents, commands, workspaces and leases.

    For a caller limited by orchestrator, a command to an agent and a workspace of an agent
    are judged on the orchestrator that agent is stored under too, as ``visible_commands``
    and ``may_touch_workspace`` judge them, from the agents' actors' memory (``agents``,
    ``AgentDirectory``): never a store read per event. A command to an agent that memory
    does not hold is withheld from such a caller (a workspace's agent is then judged as an
    unknown one, by the workspace's own fields).
    """

    constraints: tuple[tuple[str, tuple[str, ...]], ...]
    then: EventGuard | None = None
    agents: AgentDirectory | None = None  # only for a caller limited by orchestrator

    @classmethod
    def of(
        cls, caller: Principal, then: EventGuard | None, agents: AgentDirectory
    ) -> EventGuard | None:
        """The guard for ``caller``: ``then`` alone for root and unconstrained callers."""
        if caller.is_root or not caller.constraints:
            return then
        constraints = tuple(sorted((k, tuple(v)) for k, v in caller.constraints.items()))
        limited = "orchestrators" in caller.constraints
        return cls(constraints, then, agents if limited else None)

    def admits(self, event: StreamEvent) -> bool:
        if not all(covers(self._caller(), r) for r in self._resources(event)):
            return False
        return self.then is None or self.then.admits(event)

    def _caller(self) -> Principal:
        return Principal(
            sub="",
            role="",
            scope=frozenset(),
            constraints={k: list(v) for k, v in self.constraints},
        )

    def admits_presence(self, kind: str, key: str) -> bool:
        """Presence (``relay.events.PresenceGuard``), judged as the ``agent`` and
        ``orchestrator`` events it stands for; an agent memory does not hold is withheld."""
        if kind == "orchestrator":
            return covers(self._caller(), Resource(orchestrator_id=key))
        known, owner = self._owner(key)
        return known and covers(self._caller(), Resource(agent_id=key, orchestrator_id=owner))

    def _owner(self, agent_id: str | None) -> tuple[bool, str | None]:
        """``(known, orchestrator)`` of an agent, from memory; known when not asked for."""
        if self.agents is None or agent_id is None:
            return True, None
        facts = self.agents.known([agent_id])[0].get(agent_id)
        return (False, None) if facts is None else (True, facts.orchestrator_id)

    def _resources(self, event: StreamEvent) -> list[Resource]:
        """What the event carries, as its resource's reads judge it; an event of these
        kinds without its record is withheld (a resource nothing can cover)."""
        data = event.data if isinstance(event.data, dict) else {}
        item = data.get(event.event)
        if event.event not in _GUARDED_EVENTS:
            return []
        if not isinstance(item, dict):
            return [_NOTHING]
        text = {k: v for k, v in item.items() if isinstance(v, str)}
        if event.event == "agent":
            return [Resource(agent_id=text.get("id"), orchestrator_id=text.get("orchestratorId"))]
        if event.event == "orchestrator":
            return [Resource(orchestrator_id=text.get("id"))]
        if event.event == "command":
            if text.get("targetKind") == "agent":
                known, owner = self._owner(text.get("target"))
                if not known:
                    return [_NOTHING]
                return [Resource(agent_id=text.get("target"), orchestrator_id=owner)]
            return [Resource(orchestrator_id=text.get("target"))]
        if event.event == "lease":
            return [Resource(cwd=text.get("repoRoot"))]
        base = Resource(agent_id=text.get("agentId"), orchestrator_id=text.get("orchestratorId"))
        paths = [text.get(k) for k in ("worktreePath", "repoRoot", "sourceCwd")]
        resources = [replace(base, cwd=path) for path in paths if path is not None] or [base]
        _, owner = self._owner(text.get("agentId"))
        return resources if owner is None else [*resources, Resource(orchestrator_id=owner)]


_GUARDED_EVENTS = frozenset({"agent", "orchestrator", "command", "workspace", "lease"})
# Covered by no constraint of any caller this guard is for: an empty path prefix list is
# impossible, so a malformed event is refused by the agents/orchestrators/cwd it names.
_NOTHING = Resource(agent_id="", orchestrator_id="", cwd="")


# -- commands --------------------------------------------------------------------------


async def allow_command_target(kind: TargetKind, target: str, scope: str | None = None) -> None:
    """Commands: the caller may touch commands of this (stored) target: the orchestrator,
    or the agent and the orchestrator it is registered under."""
    if kind == "agent":
        await allow_agent(target, scope=scope)
    else:
        allow(Resource(orchestrator_id=target), scope)


# The params by which the daemon's handlers name what a command touches (relay/daemon:
# sessions, worktrees, merge), at the top level and in a restart's ``restartSpawn``.
_COMMAND_PATH_PARAMS = ("cwd", "repoRoot", "worktreePath", "sourceCwd")


async def allow_command_params(params: Mapping[str, Any]) -> None:
    """A command created by hand: what its params name (an agent, paths, a spawn policy, a
    spawn request) is covered by the caller's constraints, as the routes that make such
    commands (spawn, agent actions, workspace merge and cleanup) judge them; else 403.
    Covering its target alone would let a ``workspace.merge`` or ``agent.spawn`` reach any
    path below the orchestrator's ``baseDir``."""
    for part in (params, params.get("restartSpawn")):
        if not isinstance(part, Mapping):
            continue
        text = {k: v for k, v in part.items() if isinstance(v, str)}
        agent_id = text.get("agentId")
        if agent_id is not None:
            await allow_agent(agent_id)
        allow(
            Resource(
                policy_name=text.get("policyName"), spawn_request_id=text.get("spawnRequestId")
            )
        )
        for key in _COMMAND_PATH_PARAMS:
            if key in text:
                allow(Resource(cwd=text[key]))


async def allow_command_take(kind: TargetKind, target: str) -> None:
    """Taking a target's commands, over the long-poll and the channel alike: they are
    handed out unredacted (a spawn's runner token) and marked delivered. ``command:read``
    covering the target (``allow_command_target``), and for a constrained caller a
    constraint that names the target (``is_target``), or for an agent the orchestrator it
    is stored under: never a token its constraints merely do not exclude, as an agent's
    token is from its orchestrator's queue."""
    await allow_command_target(kind, target)
    caller = principal()
    if caller.is_root or not caller.constraints or is_target(caller, kind, target):
        return
    if kind == "agent":
        owner = (await agent_orchestrators([target])).get(target)
        if owner is not None and owner in caller.constraints.get("orchestrators", ()):
            return
    raise Forbidden("forbidden")


async def visible_commands(commands: list[Command]) -> list[Command]:
    """For lists: the commands whose target the caller may touch (``allow_command_target``)."""
    caller = principal()
    if caller.is_root:
        return commands
    owners: dict[str, str | None] = {}
    if _limited_by("orchestrators"):
        owners = await agent_orchestrators(c.target for c in commands if c.target_kind == "agent")

    def visible(command: Command) -> bool:
        if command.target_kind == "orchestrator":
            return covers(caller, Resource(orchestrator_id=command.target))
        return covers(
            caller, Resource(agent_id=command.target, orchestrator_id=owners.get(command.target))
        )

    return [command for command in commands if visible(command)]


async def allow_command_report(kind: TargetKind, target: str, status: str) -> None:
    """Status reports on a command of ``target``, over PATCH and over the channel alike:
    ``command:write`` covering the target; progress and outcomes only from the target
    itself (a token constrained to exactly it, or root); anyone allowed may cancel."""
    await allow_command_target(kind, target, "command:write")
    if status != "cancelled" and not is_target(principal(), kind, target):
        raise Forbidden("forbidden")


def is_target(caller: Principal, kind: TargetKind, target: str) -> bool:
    """Root, or a token constrained to exactly this target's kind and covering it.

    A runner token (``runner:<spawnRequestId>``) names its orchestrator in
    ``constraints.orchestrators`` only to reach its own agent: it is a spawned session's
    token, never the orchestrator itself (as ``check_remint_caller`` judges it)."""
    if caller.is_root:
        return True
    if kind == "orchestrator":
        return target in caller.constraints.get("orchestrators", ()) and not is_runner(caller)
    return target in caller.constraints.get("agents", ())


# -- tokens ----------------------------------------------------------------------------


def may_manage_token(record: TokenRecord | None) -> bool:
    """Token records, for the list and revocation alike: a ``token:admin`` holder manages
    the tokens it could have issued. Root and an unconstrained caller every one; a
    constrained caller those whose stored constraints lie within its own
    (``grants.check_grantable``), never a jti without a record, whose grants are unknown."""
    caller = principal()
    if caller.is_root or not caller.constraints:
        return True
    if record is None:
        return False
    try:
        check_grantable(caller, (), record.constraints)
    except Forbidden:
        return False
    return True


def limited_token_admin() -> bool:
    """Whether ``may_manage_token`` can refuse a record to the caller."""
    caller = principal()
    return not caller.is_root and bool(caller.constraints)


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
    owners = await agent_orchestrators(candidates)
    agents = frozenset(a for a in candidates if a in owners and acts_for(caller, a, owners[a]))
    if not agents:
        raise Forbidden("forbidden")
    cwd = caller.constraints.get("cwd")
    bound = own_agent(caller)
    return Viewer(
        operator=False,
        agents=agents,
        cwd=None if cwd is None else tuple(normalise_path(p) for p in cwd),
        # It claims what its sub created, unless it acts through another agent's binding.
        principal=caller.sub if bound is None or bound == caller.sub else None,
    )


async def allow_memory(
    action: MemoryAction,
    memory: Memory | None = None,
    *,
    scope: Scope | None = None,
    scope_key: str | None = None,
) -> Viewer:
    """Memories, for every route and MCP tool: the caller as a ``Viewer``, judged by
    ``visibility.authorize`` (``read``, ``create`` in ``scope``/``scopeKey``, ``change``
    a stored memory). Updates and deletes pass the viewer on to MemoryActor, which
    judges them again on the version it writes."""
    viewer = await memory_viewer()
    visibility.authorize(viewer, action, memory, scope=scope, scope_key=scope_key)
    return viewer
