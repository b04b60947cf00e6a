"""A task that prefers an online agent waits for it, however it came back to the board:
a lease that passed is judged the same whether or not the lease-expiry job has run yet
(spec tasks.md, "Tasks": eligible when ``preferredAgentId`` is absent, the claimer, or
an agent not ``online``)."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors.agent import reap_agents
from relay.clock import ManualClock
from relay.domain.agents import AgentCard
from relay.domain.tasks import Presence
from relay.http.services import Services
from relay.store import tasks as task_store
from tests.http.helpers import H
from tests.http.test_messages import agent, error_of
from tests.http.test_tasks import claim, claimed, create, get

NO_MATCH = "agent does not match the task's routing hints"


async def online(client: Any, agent_id: str) -> None:
    beat = await client.post(f"/api/agents/{agent_id}/heartbeat", headers=H)
    assert beat.status_code == 200
    assert (await beat.get_json())["status"] == "online"


async def lapsed(client: Any, clock: ManualClock) -> dict[str, Any]:
    """A task preferring a1, claimed by a1, whose lease has passed (the expiry job has
    not run); a1 is online again and a2 is there too."""
    await agent(client, "a1")
    await agent(client, "a2")
    task = await create(client, routingHints={"preferredAgentId": "a1"})
    await claimed(client, task["id"], "a1", leaseSeconds=30)
    clock.advance(31)
    return task


async def test_claim_next_leaves_a_lapsed_task_to_its_online_preferred_agent(
    client: Any, clock: ManualClock
) -> None:
    """a1's lease passed before the expiry job ran: the task is back on the board, still
    preferring a1, who is online. a2's claim-next gets nothing and leaves it submitted;
    a1's gets it."""
    task = await lapsed(client, clock)
    await online(client, "a1")
    response = await claim(client, None, agentId="a2")
    assert response.status_code == 200
    assert (await response.get_json())["task"] is None
    stored = await get(client, task["id"])
    assert (stored["status"], stored["assignee"]) == ("submitted", None)
    again = await (await claim(client, None, agentId="a1")).get_json()
    assert (again["task"]["id"], again["task"]["assignee"]) == (task["id"], "a1")


async def test_claiming_a_lapsed_task_by_id_is_refused_while_its_preferred_agent_is_online(
    client: Any, clock: ManualClock
) -> None:
    """The same by id: 409 ``agent does not match the task's routing hints``; a1 may
    claim it again (its second attempt)."""
    task = await lapsed(client, clock)
    await online(client, "a1")
    response = await claim(client, task["id"], agentId="a2")
    assert await error_of(response) == (409, NO_MATCH)
    again = await (await claim(client, task["id"], agentId="a1")).get_json()
    assert (again["task"]["assignee"], again["task"]["attempt"]) == ("a1", 2)


async def test_a_lapsed_task_preferring_an_agent_not_online_goes_to_another(
    client: Any, clock: ManualClock, services: Services
) -> None:
    """A preferred agent that is not online (silent, so stale) holds nothing up: a2 gets
    the task at once."""
    task = await lapsed(client, clock)
    assert "a1" in [card.id for card in await reap_agents(services.runtime)]
    assert (await (await client.get("/api/agents/a1", headers=H)).get_json())["status"] == "stale"
    response = await claim(client, None, agentId="a2")
    body = await response.get_json()
    assert (body["task"]["id"], body["task"]["assignee"]) == (task["id"], "a2")


async def test_a_claim_judged_on_an_earlier_read_still_waits_for_the_online_agent(
    client: Any, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim's route read which preferred agents are online before the task came back
    (here: before any submitted task preferred a1, as when the expiry job releases it
    in between): the board still finds a1 online, so a2 gets nothing."""
    task = await lapsed(client, clock)
    await online(client, "a1")
    read = task_store.claimer_and_presence

    async def before_the_release(agent_id: str) -> tuple[AgentCard | None, Presence]:
        card, _presence = await read(agent_id)
        return card, Presence()

    monkeypatch.setattr(task_store, "claimer_and_presence", before_the_release)
    response = await claim(client, None, agentId="a2")
    assert (await response.get_json())["task"] is None
    response = await claim(client, task["id"], agentId="a2")
    assert await error_of(response) == (409, NO_MATCH)
