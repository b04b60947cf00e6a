"""Commands: who may create, read, take and report on a target's commands (HTTP routes
and the command channel alike), judged from stored state as ``relay.http.auth`` judges
agents and orchestrators."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from relay.actors import commands
from relay.auth.access import Principal, Resource, reaches, reaches_host
from relay.auth.command_params import (
    PATH_PARAMS,
    SESSION_PARAMS,
    named_agents,
    param_parts,
    params_covered,
)
from relay.domain.agents import Placement
from relay.domain.commands import Command, TargetKind
from relay.errors import Forbidden
from relay.http.auth import (
    agent_placements,
    allow,
    allow_agent,
    allow_workspace,
    limited_by,
    principal,
)
from relay.http.orchestrator_auth import BaseDirs, is_target, known_base_dirs, stored_base_dirs
from relay.http.services import services
from relay.store import workspaces as workspace_store
from relay.store.commands import Targets


async def allow_command_target(kind: TargetKind, target: str, scope: str | None = None) -> None:
    """Commands: the caller may touch commands of this (stored) target: the orchestrator,
    or the agent and the orchestrator it is registered under. A caller limited by path
    touches an orchestrator's commands only where it reads the host's card
    (``reaches_host``, on its stored ``baseDir``), as lists judge reading them."""
    if kind == "agent":
        await allow_agent(target, scope=scope)
        return
    allow(Resource(orchestrator_id=target), scope)
    if limited_by("cwd"):
        hosts = await known_base_dirs((target,))
        if not reaches_host(principal(), target, hosts[target]):
            raise Forbidden("forbidden")


async def allow_command_write(kind: TargetKind, target: str) -> None:
    """Creating or cancelling a command: ``command:write`` covering the target
    (``allow_command_target``), and never a command to an orchestrator from a caller
    limited by ``agents``. Such a command acts on the host, not on an agent: a session
    named in its params (``sessionName``, ``tmuxSession``, ``spawnRequestId``, found by the
    daemon before ``agentId``), a new session (``agent.spawn``), a path below ``baseDir``.
    A token limited to some agents (a spawned session's runner token) covers its
    orchestrator only as the place its agents live, not as a host it may steer."""
    await allow_command_target(kind, target, "command:write")
    if kind == "orchestrator" and limited_by("agents"):
        raise Forbidden("forbidden")


async def allow_hand_made_params(kind: TargetKind, target: str, params: Mapping[str, Any]) -> None:
    """A command made by hand (``POST /api/commands``) by a caller limited by path names no
    session (``SESSION_PARAMS``), unless it is the orchestrator itself: the daemon finds a
    session by those before ``agentId``, so naming an agent the caller reaches beside
    another session's name, or a session alone, would stop or steer a session working
    outside its paths. The relay's own flows (agent actions, spawns) name a session only
    from the stored card of an agent they judged, or a new one. A ``spawnRequestId`` its
    ``spawnRequestIds`` constraint names (``allow_command_params`` judged it) is its own."""
    if not limited_by("cwd"):
        return
    caller = principal()
    if kind == "orchestrator" and is_target(caller, kind, target, await stored_base_dirs(caller)):
        return
    own = ("spawnRequestId",) if limited_by("spawnRequestIds") else ()
    named = {key for part in param_parts(params) for key in SESSION_PARAMS if key in part}
    if named - set(own):
        raise Forbidden("forbidden")


async def allow_command_params(params: Mapping[str, Any]) -> None:
    """A command created by hand: what its params name (an agent, paths, a spawn policy, a
    spawn request) is covered by the caller's constraints, as the routes that make such
    commands (spawn, agent actions, workspace merge and cleanup) judge them; else 403.
    Covering its target alone would let a ``workspace.merge`` or ``agent.spawn`` reach any
    path below the orchestrator's ``baseDir``. Reads judge the same params
    (``params_covered``)."""
    for text in param_parts(params):
        agent_id = text.get("agentId")
        if agent_id is not None:
            await allow_agent(agent_id)
        workspace_id = text.get("workspaceId")
        if workspace_id is not None:
            # The settle of a workspace command moves or deletes the workspace it names
            # (a reconcile's ``removed``): only one the caller may touch as stored.
            stored = await services().runtime.store.run(partial(workspace_store.load, workspace_id))
            if stored is not None:
                await allow_workspace(stored)
            elif principal().constrained:
                # Nothing to judge yet, and the settle finds the workspace by id when it
                # comes: one recorded under that id meanwhile may be another owner's.
                raise Forbidden("forbidden")
        allow(
            Resource(
                policy_name=text.get("policyName"), spawn_request_id=text.get("spawnRequestId")
            )
        )
        for key in PATH_PARAMS:
            if key in text:
                allow(Resource(cwd=text[key]))


async def allow_command_take(
    kind: TargetKind, target: str, base_dirs: BaseDirs | None = None
) -> None:
    """Taking a target's commands, over the long-poll and the channel alike: they are
    handed out unredacted (a spawn's runner token) and marked delivered. ``command:read``
    covering the target (``allow_command_target``), and ``takes_queue``. ``base_dirs``:
    ``stored_base_dirs`` of the caller, when already read (the channel's, at its open)."""
    await allow_command_target(kind, target)
    caller = principal()
    if not caller.constrained:
        return
    if base_dirs is None:
        base_dirs = await stored_base_dirs(caller)
    if is_target(caller, kind, target, base_dirs):
        return
    places = await agent_placements([target]) if kind == "agent" else {}
    if not takes_queue(caller, kind, target, places, base_dirs):
        raise Forbidden("forbidden")


def takes_queue(
    caller: Principal,
    kind: TargetKind,
    target: str,
    places: Mapping[str, Placement],
    base_dirs: BaseDirs,
) -> bool:
    """Whether a caller covering the target takes its queue: a constrained caller only
    if it is the target (``is_target``), or for an agent the orchestrator it is stored
    under (``places``): never a token its constraints merely do not exclude, as an agent's
    token is from its orchestrator's queue, or one limited to a path below that
    orchestrator's ``baseDir`` (``base_dirs``) from its agents' queues."""
    if not caller.constrained or is_target(caller, kind, target, base_dirs):
        return True
    place = places.get(target) if kind == "agent" else None
    owner = None if place is None else place.orchestrator_id
    return owner is not None and is_target(caller, "orchestrator", owner, base_dirs)


def may_read_command(
    caller: Principal,
    kind: TargetKind,
    target: str,
    params: Mapping[str, Any],
    places: Mapping[str, Placement],
    base_dirs: BaseDirs,
) -> bool:
    """Reading a command whose target the caller covers (list, get and the event stream
    alike): the caller takes that target's queue (``takes_queue``: it is handed the
    command whole anyway; an orchestrator's runtime token reads all of its commands), or
    its constraints cover what the params name (``params_covered``). Covering the target
    alone let a token limited by ``agents``, ``cwd`` or a spawn policy read every command
    of its orchestrator: other sessions' spawns, other paths' merges and their results.
    ``places``: where the agent target and each agent the params name (``named_agents``)
    are stored, for a caller limited by orchestrator or path. ``base_dirs``: the
    caller's ``stored_base_dirs``, which ``is_target`` judges an orchestrator's token on."""
    return takes_queue(caller, kind, target, places, base_dirs) or params_covered(
        caller, params, places
    )


async def visible_commands(commands: list[Command]) -> list[Command]:
    """For lists: the commands whose target the caller may touch (``allow_command_target``)
    and which it may read (``may_read_command``), the agents they name looked up together."""
    caller = principal()
    if not caller.constrained:
        return commands
    places: dict[str, Placement] = {}
    if limited_by("orchestrators") or limited_by("cwd"):
        agents = [c.target for c in commands if c.target_kind == "agent"]
        agents += [agent_id for c in commands for agent_id in named_agents(c.params)]
        places = await agent_placements(agents)
    base_dirs = await stored_base_dirs(caller)
    hosts = await _host_base_dirs(commands) if limited_by("cwd") else {}

    def visible(command: Command) -> bool:
        if command.target_kind == "orchestrator":
            # As its card is read (``reaches_host``): a caller limited to /srv/o1 reads no
            # command to o2 at /srv/o2, not even one naming no path and no agent.
            seen = reaches_host(caller, command.target, hosts.get(command.target))
        else:
            # Where the agent is stored, as commanding it judges (``allow_agent``).
            seen = reaches(caller, command.target, places.get(command.target))
        return seen and may_read_command(
            caller, command.target_kind, command.target, command.params, places, base_dirs
        )

    return [command for command in commands if visible(command)]


async def _host_base_dirs(commands: list[Command]) -> dict[str, str | None]:
    """The stored ``baseDir`` of every orchestrator these commands are sent to."""
    hosts = tuple({c.target for c in commands if c.target_kind == "orchestrator"})
    return await known_base_dirs(hosts) if hosts else {}


async def allow_command_read(command: Command) -> None:
    """One stored command (``GET /api/commands/:id``): 403 unless the caller covers its
    target (``allow_command_target``) and may read it, as lists judge it."""
    await allow_command_target(command.target_kind, command.target)
    if not await visible_commands([command]):
        raise Forbidden("forbidden")


def command_targets() -> Targets | None:
    """For lists, the store's narrowing ahead of ``visible_commands``: the targets the
    caller's ``agents`` and ``orchestrators`` constraints name, per kind, and for a caller
    limited by ``agents`` the orchestrators' commands about those agents (``agentId``,
    which ``params_covered`` requires of it). An agent's command is narrowed by ``agents``
    alone: its orchestrator is the agent's, which ``visible_commands`` looks up. Never
    fewer commands than ``visible_commands`` keeps, never the final word; None (root, or
    neither constraint): every command."""
    caller = principal()
    agents = caller.constraints.get("agents")
    orchestrators = caller.constraints.get("orchestrators")
    if caller.is_root or (agents is None and orchestrators is None):
        return None
    return Targets(agents=agents, orchestrators=orchestrators, about=agents)


async def allow_command_report(
    kind: TargetKind,
    target: str,
    status: str,
    command_id: str,
    base_dirs: BaseDirs | None = None,
) -> None:
    """Status reports on a command of ``target``, over PATCH and over the channel alike:
    ``command:write`` covering the target; progress and outcomes only from the target
    itself (a token constrained to exactly it, or root); a cancel also from anyone allowed
    to create that very command (``allow_command_write`` and ``allow_command_params`` on
    its stored params). A cancel undoes what the command was for (a merge's lease freed,
    its workspace ready again): covering the target alone let a caller refused the
    command cancel it. ``base_dirs``: as ``allow_command_take``'s."""
    await allow_command_write(kind, target)
    caller = principal()
    if base_dirs is None:
        # An agent is its own target by ``agents`` alone: no baseDir to read for it.
        base_dirs = await stored_base_dirs(caller) if kind == "orchestrator" else {}
    if is_target(caller, kind, target, base_dirs):
        return
    if status != "cancelled":
        raise Forbidden("forbidden")
    command = await commands.load(services().runtime, command_id)
    await allow_command_params(command.params)
