"""Edges of agent control: a lifecycle reservation outliving a timed-out enqueue, card
fields past a policy or spawn limit, a registration racing another host's first one."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors.orchestrator import flows as orchestrator_flows
from relay.errors import Unavailable
from relay.http import auth as http_auth
from tests.conftest import bearer
from tests.http.helpers import poll, register_orchestrator
from tests.http.test_agent_actions import (
    CLAUDE_META,
    act,
    get_agent,
    register_agent,
)
from tests.http.test_agent_lifecycle_guard import managed_agent

# -- 1. a timed-out enqueue gives the reservation back though the command is queued ------------


async def test_a_restart_whose_enqueue_timed_out_keeps_the_lifecycle_reserved(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The orchestrator's actor took the command, but the caller's wait ran out (503): the
    command is stored and will be delivered, so the lifecycle must stay reserved for it, or
    a retry queues a second restart of the same session beside it."""
    await managed_agent(client, ready=True)
    real = orchestrator_flows.enqueue_if_online

    async def slow(rt: Any, spec: Any, **kwargs: Any) -> Any:
        await real(rt, spec, **kwargs)  # stored and queued...
        raise Unavailable("orchestrator actor timed out")  # ...after the caller gave up

    with monkeypatch.context() as patched:
        patched.setattr(orchestrator_flows, "enqueue_if_online", slow)
        response = await act(client, "restart")
        assert response.status_code == 503
    queued = await poll(client)
    assert [c["type"] for c in queued] == ["agent.restart"]
    card = await get_agent(client)
    assert card["meta"].get("lifecycleCommandId") == queued[0]["id"]
    # The user retries after the 503: one restart is already in flight.
    retry = await act(client, "restart")
    assert retry.status_code == 409, await retry.get_data()


# -- 2. a policyNames limit on actions is undone by rewriting the card's policyName -------------


@pytest.mark.parametrize(
    ("constraint", "field", "theirs", "mine"),
    [
        ("policyNames", "policyName", "p2", "p1"),
        ("spawnRequestIds", "spawnRequestId", "sp_theirs", "sp_mine"),
    ],
)
async def test_a_policy_limited_token_cannot_repoint_another_policys_agent_and_act_on_it(
    client: Any, mint: Any, constraint: str, field: str, theirs: str, mine: str
) -> None:
    """A token limited to spawn policy p1 (or to its own spawn requests) may not shut down
    an agent of policy p2 (the action route judges the card's stored ``meta.policyName`` /
    ``meta.spawnRequestId``); rewriting that stored field first must not hand it the agent."""
    await register_orchestrator(client)
    await register_agent(client, orchestratorId="o1", meta={**CLAUDE_META, field: theirs})
    token = bearer(mint(["agent:write", "agent:read"], {constraint: [mine]}))
    refused = await act(client, "shutdown", headers=token)
    assert refused.status_code == 403  # as the route judges the stored card

    repoint = await client.patch("/api/agents/a1", json={"meta": {field: mine}}, headers=token)
    after = await act(client, "shutdown", headers=token)
    assert (repoint.status_code, after.status_code) != (200, 202), (
        f"the {constraint}-limited token repointed another's agent and shut it down"
    )
    assert (await get_agent(client))["meta"][field] == theirs
    assert await poll(client) == []


# -- 3. the orchestrator an agent is stored under is judged before the actor, not in it --------


async def test_a_registration_racing_another_hosts_first_registration_does_not_take_the_agent(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """o1 and o2 register the same new id at once: both are judged on "no such agent yet"
    (the directory records an agent only once its commit lands). The second to reach the
    agent's actor finds o1's card and re-registers it under o2: o2 takes o1's agent, which
    ``allow_agent`` refuses to any caller who asks after o1's commit (403)."""
    o1 = await register_orchestrator(client, "o1", "/srv/o1")
    o2 = await register_orchestrator(client, "o2", "/srv/o2")
    card = {"id": "a1", "orchestratorId": "o1", "meta": {"cwd": "/srv/o1/repo"}}
    first = await client.post("/api/agents", json=card, headers=bearer(o1["token"]))
    assert first.status_code == 201

    stolen = {"id": "a1", "orchestratorId": "o2", "meta": {"cwd": "/srv/o1/repo"}}
    later = await client.post("/api/agents", json=stolen, headers=bearer(o2["token"]))
    assert later.status_code == 403  # judged on the stored card: not o2's

    real = http_auth.agent_placements

    async def read_before_o1_committed(agent_ids: Any) -> Any:
        found = await real(agent_ids)
        return {k: v for k, v in found.items() if k != "a1"}

    with monkeypatch.context() as patched:
        patched.setattr(http_auth, "agent_placements", read_before_o1_committed)
        racing = await client.post(
            "/api/agents",
            json={"id": "a1", "orchestratorId": "o2"},
            headers=bearer(o2["token"]),
        )
    stored = await get_agent(client)
    assert stored.get("orchestratorId") == "o1", (racing.status_code, stored)


async def test_a_policy_limited_token_keeps_its_own_agents_label_and_may_set_an_unset_one(
    client: Any, mint: Any
) -> None:
    # What stays allowed: a write leaving the label as it is, and labelling an unlabelled
    # card with a policy of its own (an unset label is covered, as the action route says).
    await register_orchestrator(client)
    await register_agent(client, orchestratorId="o1", meta={**CLAUDE_META})
    token = bearer(mint(["agent:write", "agent:read"], {"policyNames": ["p1"]}))
    labelled = await client.patch(
        "/api/agents/a1", json={"meta": {"policyName": "p1"}}, headers=token
    )
    assert labelled.status_code == 200, await labelled.get_data()
    renamed = await client.patch("/api/agents/a1", json={"name": "kept"}, headers=token)
    assert renamed.status_code == 200, await renamed.get_data()
    moved = await client.patch("/api/agents/a1", json={"meta": {"policyName": "p2"}}, headers=token)
    assert (moved.status_code, await moved.get_json()) == (403, {"error": "forbidden"})
    assert (await get_agent(client))["meta"]["policyName"] == "p1"
