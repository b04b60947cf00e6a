"""Which agents exist, with their orchestrator, working directory and runner flag: from
the agents' actors' memory (``Runtime.agents``) where it has them, else from the store."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from relay.actors.agent.action_rules import is_runner_managed
from relay.actors.agent.host_meta import runner_managed
from relay.actors.runtime.context import Runtime
from relay.actors.runtime.directory import AgentFacts
from relay.domain.agents import AgentCard, Placement, stored_cwd
from relay.store import agents as agent_store


def facts_of(card: AgentCard) -> AgentFacts:
    return AgentFacts(card.orchestrator_id, is_runner_managed(card), stored_cwd(card.meta))


async def agent_facts(rt: Runtime, agent_ids: Iterable[str]) -> dict[str, AgentFacts]:
    """The facts of each of these agents that exists (unknown ones are left out)."""
    found, missing = rt.agents.known(agent_ids)
    if missing:
        wanted = tuple(missing)
        cards = await rt.store.run(lambda: agent_store.cards_of(wanted))
        for agent_id, card in cards.items():
            found[agent_id] = facts_of(card)
    return found


async def remember_agents(rt: Runtime) -> dict[str, int]:
    """Start-up recovery: every stored agent's facts in ``rt.agents``, so that the hot
    paths and the event stream's guard find them without a store read."""
    rt.agents.begin_prime()
    stored: list[tuple[str, str | None, dict[str, Any]]] = []
    try:
        stored = await rt.store.run(agent_store.placements)
    finally:
        # Ended on failure too (recording nothing): changes are no longer tracked.
        rt.agents.prime(
            {
                agent_id: AgentFacts(owner, runner_managed(meta), stored_cwd(meta))
                for agent_id, owner, meta in stored
            }
        )
    return {"agents": len(stored)}


async def orchestrators_of(rt: Runtime, agent_ids: Iterable[str]) -> dict[str, str | None]:
    """The orchestrator of each of these agents that exists (unknown ones are left out)."""
    found, missing = rt.agents.known(agent_ids)
    owners = {agent_id: facts.orchestrator_id for agent_id, facts in found.items()}
    if missing:
        wanted = tuple(missing)
        owners.update(await rt.store.run(lambda: agent_store.orchestrators_of(wanted)))
    return owners


async def placements_of(rt: Runtime, agent_ids: Iterable[str]) -> dict[str, Placement]:
    """Where each of these agents that exists is stored (unknown ones are left out): what
    ``acts_for`` judges. The directory first, one store read for the rest."""
    found, missing = rt.agents.known(agent_ids)
    placements = {agent_id: facts.placement for agent_id, facts in found.items()}
    if missing:
        wanted = tuple(missing)
        placements.update(await rt.store.run(lambda: agent_store.placements_of(wanted)))
    return placements
