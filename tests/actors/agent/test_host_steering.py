"""The agent's actor judges a host-steering write on the card it holds, so a write queued
before it (an orchestrator re-registering its session) cannot slip between the check and
the change."""

from __future__ import annotations

import pytest

from relay.actors import Runtime, agent
from relay.domain.agents import AgentPatch, AgentRegistration
from relay.errors import Forbidden
from relay.store import agents as agent_store


def _host_registers(session: str) -> agent.Register:
    return agent.Register(
        AgentRegistration(
            id="a1",
            orchestrator_id="o1",
            meta={"runnerManaged": True, "tmuxSession": session},
        )
    )


async def test_a_stale_repeat_behind_the_hosts_write_is_refused(runtime: Runtime) -> None:
    """The runner read ``relay-old`` and repeats it (a repeat passes); the host has
    re-registered the session since. The actor holds the host's write, so the repeat is a
    change, and refused; a check on a store read taken before would have let it through
    and put the old session back."""
    await runtime.registry.ask(agent.KIND, "a1", _host_registers("relay-old"))
    await runtime.registry.ask(agent.KIND, "a1", _host_registers("relay-new"))
    stale = agent.Patch(AgentPatch(meta={"tmuxSession": "relay-old"}), host_guarded=True)
    with pytest.raises(Forbidden):
        await runtime.registry.ask(agent.KIND, "a1", stale)
    repeat = agent.Patch(AgentPatch(meta={"tmuxSession": "relay-new"}), host_guarded=True)
    card = await runtime.registry.ask(agent.KIND, "a1", repeat)
    assert card.meta["tmuxSession"] == "relay-new"
    stored = await runtime.store.run(lambda: agent_store.load("a1"))
    assert stored is not None
    assert stored.meta["tmuxSession"] == "relay-new"


@pytest.mark.parametrize("guarded", [True, False])
async def test_moving_a_placed_agent(runtime: Runtime, guarded: bool) -> None:
    await runtime.registry.ask(agent.KIND, "a1", _host_registers("relay-a"))
    move = agent.Register(AgentRegistration(id="a1", orchestrator_id="o2"), host_guarded=guarded)
    if guarded:
        with pytest.raises(Forbidden):
            await runtime.registry.ask(agent.KIND, "a1", move)
    else:
        card, created = await runtime.registry.ask(agent.KIND, "a1", move)
        assert (card.orchestrator_id, created) == ("o2", False)
    stored = await runtime.store.run(lambda: agent_store.load("a1"))
    assert stored is not None
    assert stored.orchestrator_id == ("o1" if guarded else "o2")


async def test_the_provider_a_host_respawns_by_is_the_hosts(runtime: Runtime) -> None:
    """With no ``meta.provider``, ``providerCapabilities.model.provider`` names what the
    host respawns: a caller limited to agents cannot change it, but may rewrite the rest
    of its capabilities."""
    host = AgentRegistration(
        id="a1",
        orchestrator_id="o1",
        meta={"runnerManaged": True},
        provider_capabilities={"model": {"provider": "claude"}},
    )
    await runtime.registry.ask(agent.KIND, "a1", agent.Register(host))
    codex = {"model": {"provider": "codex"}}
    with pytest.raises(Forbidden):
        await runtime.registry.ask(
            agent.KIND,
            "a1",
            agent.Patch(AgentPatch(provider_capabilities=codex), host_guarded=True),
        )
    same = {"model": {"provider": "claude", "name": "opus"}}
    card = await runtime.registry.ask(
        agent.KIND, "a1", agent.Patch(AgentPatch(provider_capabilities=same), host_guarded=True)
    )
    assert card.provider_capabilities == same
    # The host itself may.
    card = await runtime.registry.ask(
        agent.KIND, "a1", agent.Patch(AgentPatch(provider_capabilities=codex))
    )
    assert card.provider_capabilities == codex
