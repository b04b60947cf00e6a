"""Whom a caller acts for, as the memory rules count it (spec/memory.md: "A caller sees
what the agents it acts for see").

One rule for the routes (``relay.http.auth.memory_viewer``, on where each agent is stored
as the request is served) and the event stream (``MemoryEvents``, on where the agents'
actors' memory holds each one stored as each event is sent): ``acts_for`` on the agent's
placement, among the agents the caller's constraints reach it through — those it names;
for an ``orchestrator`` or operator token, those of the orchestrators it names; for an
operator limited by path and naming no agent, those within its paths.
"""

from __future__ import annotations

from collections.abc import Iterable

from relay.auth.access import Principal, acts_for, is_operator, normalise_path, own_agent
from relay.domain.agents import Placement
from relay.domain.memory import Viewer


def counts_by_place(caller: Principal) -> bool:
    """Whether agents the caller does not name count, by where they are stored (under its
    orchestrators, within its paths): found among all stored agents, not in its token."""
    constraints = caller.constraints
    if "orchestrators" in constraints and (caller.role == "orchestrator" or is_operator(caller)):
        return True
    return is_operator(caller) and "agents" not in constraints and "cwd" in constraints


def acts_for_memory(caller: Principal, agent_id: str, placement: Placement | None) -> bool:
    """Whether ``agent_id``, stored at ``placement`` (None: not stored), is one of the
    caller's agents for the memory rules."""
    if placement is None or not acts_for(caller, agent_id, placement):
        return False
    return agent_id in caller.constraints.get("agents", ()) or counts_by_place(caller)


def viewer_of(caller: Principal, agents: Iterable[str]) -> Viewer:
    """A constrained caller's Viewer: ``agents`` (those ``acts_for_memory`` kept), its
    ``cwd`` constraint, and the creator it may claim."""
    cwd = caller.constraints.get("cwd")
    bound = own_agent(caller)
    return Viewer(
        operator=False,
        agents=frozenset(agents),
        cwd=None if cwd is None else tuple(normalise_path(p) for p in cwd),
        # It claims what its sub created, unless it acts through another agent's binding.
        principal=caller.sub if bound is None or bound == caller.sub else None,
    )
