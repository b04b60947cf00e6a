"""What a command's params name, and whether a constrained caller's constraints cover it:
one rule for making a command by hand (``relay.http.command_auth.allow_command_params``)
and for reading one (``params_covered``), so a read never reaches further than a create."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from relay.auth.access import Principal, Resource, covers, reaches
from relay.domain.agents import Placement

# The params by which the daemon's handlers name what a command touches (relay/daemon:
# sessions, worktrees, merge), at the top level and in a restart's ``restartSpawn``.
PATH_PARAMS = ("cwd", "repoRoot", "worktreePath", "sourceCwd")
# The params by which the daemon finds a session before ``agentId`` (``find_session``).
SESSION_PARAMS = ("tmuxSession", "sessionName", "spawnRequestId")


def param_parts(params: Mapping[str, Any]) -> list[dict[str, str]]:
    """The string params of the top level and of a restart's ``restartSpawn``: where the
    daemon looks for what a command touches (other values name nothing it acts on)."""
    parts = []
    for part in (params, params.get("restartSpawn")):
        if isinstance(part, Mapping):
            parts.append({k: v for k, v in part.items() if isinstance(v, str)})
    return parts


def named_agents(params: Mapping[str, Any]) -> list[str]:
    """Every ``agentId`` the params name: the agents whose stored places a read looks up,
    together for a whole page (``relay.http.auth.agent_placements``)."""
    return [part["agentId"] for part in param_parts(params) if "agentId" in part]


def params_covered(
    caller: Principal, params: Mapping[str, Any], places: Mapping[str, Placement]
) -> bool:
    """Whether a caller may read a command with these params, as far as they go: its
    constraints cover everything they name, as ``allow_command_params`` would have it
    create them. Unconstrained callers and root: always.

    - each ``agentId`` (top level and ``restartSpawn``), as ``allow_agent`` judges it where
      it is stored (``places``: ``reaches``, its orchestrator and, for a caller limited by
      path, its working directory); one left out is judged by the constraints alone, as
      ``allow_agent`` judges an agent that does not exist yet (a spawn's new agent);
    - ``policyName`` and ``spawnRequestId``, by ``policyNames`` and ``spawnRequestIds``;
    - each path (``PATH_PARAMS``), by ``cwd``.

    A caller limited by ``agents`` reaches a command to an orchestrator only through one of
    its agents, so the command must be about one (``params.agentId`` at the top level, the
    agent the ``?agentId=`` filter and the store's narrowing read): a merge naming only
    paths, or the spawn of an agent it does not name, is another session's or the host's.

    For a caller limited by ``cwd``, a part naming an agent that is not stored (deleted,
    or a spawn's new one) or a session without an agent is at no known place: it is judged
    by the paths it carries, and withheld without one (a session's shutdown names none).

    A ``workspaceId`` is judged by the paths the command carries (every workspace command
    the relay makes names the workspace's ``repoRoot`` and ``worktreePath``), not by the
    stored workspace: the event stream's guard may not read the store per event, and the
    three reads of a command must judge alike. So a command naming a workspace and no path
    is withheld from a caller limited by ``cwd``: nothing it carries says where it acts.
    """
    if not caller.constrained:
        return True
    about = params.get("agentId")
    if "agents" in caller.constraints and not (isinstance(about, str) and about):
        return False
    for part in param_parts(params):
        agent_id = part.get("agentId")
        place = None if agent_id is None else places.get(agent_id)
        if agent_id is not None and place is not None and not reaches(caller, agent_id, place):
            return False
        named = Resource(
            agent_id=agent_id,
            orchestrator_id=None if place is None else place.orchestrator_id,
            policy_name=part.get("policyName"),
            spawn_request_id=part.get("spawnRequestId"),
        )
        paths = [part[key] for key in PATH_PARAMS if key in part]
        if not paths and "cwd" in caller.constraints and _placeless(part, place):
            return False
        if not all(covers(caller, r) for r in (named, *(Resource(cwd=p) for p in paths))):
            return False
    return True


def _placeless(part: Mapping[str, str], place: Placement | None) -> bool:
    """Whether a part of a command's params names something at no known place: a workspace
    (judged by its paths, not the stored record), an agent that is not stored, or a session
    of no named agent."""
    if "workspaceId" in part:
        return True
    if "agentId" in part:
        return place is None
    return any(key in part for key in SESSION_PARAMS)
