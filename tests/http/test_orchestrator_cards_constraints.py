"""An orchestrator's card lists in ``managedAgents`` the id and tmux session of every
session its host runs. A caller whose constraints limit the agents it reads (``cwd``,
``orchestrators``, ``agents``) is served each card (``GET /api/orchestrators``, ``GET
/api/orchestrators/:id``, the event stream's ``orchestrator`` frames, live and replayed)
with only the entries of agents it reads, judged as their own cards are: where each agent
is stored, never by the card that lists it (``access.shows_managed_agent``). An entry of an
agent not stored is left out for such a caller. Root reads every card whole; a host's
runtime token reads its own agents' entries, those that recorded no working directory
included (``within_place``)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import bearer
from tests.http.helpers import H
from tests.http.sse_client import open_stream, until_end
from tests.http.test_acts_for_cwd import FAR, NEAR, NOWHERE, hosts

READ = ["agent:read", "activity:read"]
GHOST = "ghost"  # a session o1 reports whose agent is not stored
# What o1 reports running: its own ``near`` (in /srv/o1/x) and ``nowhere`` (no cwd), ``far``
# (stored under o2, in /srv/o2: the card's word does not make it o1's) and ``ghost``.
O1_MANAGED = [NEAR, NOWHERE, FAR, GHOST]
O2_MANAGED = [FAR]

# Each caller: its constraints and the entries it reads of o1's and o2's cards (None: the
# card itself is kept from it).
CALLERS: dict[str, tuple[dict[str, list[str]], list[str], list[str] | None]] = {
    "path": ({"cwd": ["/srv/o1"]}, [NEAR], None),
    "orchestrator": ({"orchestrators": ["o1"]}, [NEAR, NOWHERE], None),
    "agent": ({"agents": [NEAR]}, [NEAR], []),
}


async def report(client: Any, orchestrator_id: str, agent_ids: list[str]) -> None:
    """Root reports the sessions an orchestrator runs (a heartbeat: an ``orchestrator``
    event when the list changes)."""
    managed = [{"agentId": a, "sessionName": f"tmux-{a}", "status": "running"} for a in agent_ids]
    response = await client.post(
        f"/api/orchestrators/{orchestrator_id}/heartbeat",
        json={"managedAgents": managed},
        headers=H,
    )
    assert response.status_code == 200, await response.get_data()
    assert [m["agentId"] for m in (await response.get_json())["managedAgents"]] == agent_ids


async def fleet(client: Any) -> dict[str, str]:
    """o1 and o2 (``hosts``) reporting their sessions; o1's runtime token's headers."""
    runtime = await hosts(client)
    await report(client, "o1", O1_MANAGED)
    await report(client, "o2", O2_MANAGED)
    return runtime


def managed(card: dict[str, Any]) -> list[str]:
    return [entry["agentId"] for entry in card["managedAgents"]]


async def listed(client: Any, headers: dict[str, str]) -> dict[str, list[str]]:
    response = await client.get("/api/orchestrators", headers=headers)
    assert response.status_code == 200, await response.get_data()
    return {card["id"]: managed(card) for card in await response.get_json()}


async def read_one(client: Any, orchestrator_id: str, headers: dict[str, str]) -> list[str]:
    response = await client.get(f"/api/orchestrators/{orchestrator_id}", headers=headers)
    assert response.status_code == 200, await response.get_data()
    card = await response.get_json()
    # Only the managed sessions are left out: the rest of the card is as stored.
    whole = await (await client.get(f"/api/orchestrators/{orchestrator_id}", headers=H)).get_json()
    assert {k: v for k, v in card.items() if k != "managedAgents"} == {
        k: v for k, v in whole.items() if k != "managedAgents"
    }
    return managed(card)


def expected_cards(who: str) -> dict[str, list[str]]:
    _, o1, o2 = CALLERS[who]
    return {"o1": o1} if o2 is None else {"o1": o1, "o2": o2}


def caller(mint: Any, who: str) -> dict[str, str]:
    constraints, _, _ = CALLERS[who]
    return bearer(mint(READ, constraints, sub=f"{who}-limited", role="dashboard"))


@pytest.mark.parametrize("who", list(CALLERS))
async def test_the_list_shows_only_the_managed_agents_the_caller_reads(
    client: Any, mint: Any, who: str
) -> None:
    await fleet(client)
    assert await listed(client, caller(mint, who)) == expected_cards(who)
    assert await listed(client, H) == {"o1": O1_MANAGED, "o2": O2_MANAGED}  # root: whole


@pytest.mark.parametrize("who", list(CALLERS))
async def test_one_card_shows_only_the_managed_agents_the_caller_reads(
    client: Any, mint: Any, who: str
) -> None:
    await fleet(client)
    for orchestrator_id, entries in expected_cards(who).items():
        assert await read_one(client, orchestrator_id, caller(mint, who)) == entries
    assert await read_one(client, "o1", H) == O1_MANAGED  # root: whole


async def test_a_hosts_runtime_token_reads_its_own_agents_entries(client: Any) -> None:
    """Its agents within its baseDir and the one that recorded no working directory; not
    o2's agent its card names, nor a session of no stored agent."""
    runtime = await fleet(client)
    assert await listed(client, runtime) == {"o1": [NEAR, NOWHERE]}
    assert await read_one(client, "o1", runtime) == [NEAR, NOWHERE]


def streamed_cards(frames: list[Any]) -> dict[str, list[str]]:
    """The last card of each orchestrator the stream sent."""
    return {
        f.data["orchestrator"]["id"]: managed(f.data["orchestrator"])
        for f in frames
        if f.event == "orchestrator"
    }


async def test_the_stream_sends_a_path_limited_caller_the_cards_it_reads(
    client: Any, mint: Any
) -> None:
    """The same ``orchestrator`` event reaches root's stream whole, the path-limited
    caller's and the host's redacted, as their reads of the card serve it."""
    runtime = await hosts(client)
    path = caller(mint, "path")
    async with (
        open_stream(client, headers=path) as limited,
        open_stream(client, headers=H) as whole,
        open_stream(client, headers=runtime) as own,
    ):
        await report(client, "o1", O1_MANAGED)
        await report(client, "o2", O2_MANAGED)
        limited_frames = await until_end(client, limited)
        whole_frames = await until_end(client, whole)
        own_frames = await until_end(client, own)
    assert streamed_cards(limited_frames) == {"o1": [NEAR]}
    assert streamed_cards(whole_frames) == {"o1": O1_MANAGED, "o2": O2_MANAGED}
    assert streamed_cards(own_frames) == {"o1": [NEAR, NOWHERE]}
    # The rest of the card is as root's stream carries it.
    o1_whole = next(f for f in whole_frames if f.event == "orchestrator" and f.id is not None)
    o1_limited = next(f for f in limited_frames if f.id == o1_whole.id)
    assert {k: v for k, v in o1_limited.data["orchestrator"].items() if k != "managedAgents"} == {
        k: v for k, v in o1_whole.data["orchestrator"].items() if k != "managedAgents"
    }


async def test_the_stream_sends_a_caller_limited_by_orchestrator_the_cards_it_reads(
    client: Any, mint: Any
) -> None:
    """(A stream limited by agents carries no ``orchestrator`` event: one names no agent.)"""
    await hosts(client)
    async with open_stream(client, headers=caller(mint, "orchestrator")) as stream:
        await report(client, "o1", O1_MANAGED)
        await report(client, "o2", O2_MANAGED)
        frames = await until_end(client, stream)
    assert streamed_cards(frames) == {"o1": [NEAR, NOWHERE]}


async def test_the_replay_sends_the_cards_redacted_too(client: Any, mint: Any) -> None:
    await fleet(client)
    query = {"lastEventId": "0"}
    async with open_stream(client, query=query, headers=caller(mint, "path")) as stream:
        frames = await until_end(client, stream)
    assert streamed_cards(frames) == {"o1": [NEAR]}
    async with open_stream(client, query=query, headers=H) as stream:
        frames = await until_end(client, stream)
    assert streamed_cards(frames) == {"o1": O1_MANAGED, "o2": O2_MANAGED}


def o1_ops(mint: Any) -> dict[str, str]:
    """An operator's dashboard limited to o1 that may write agents: ``is_target`` lets it
    report for o1 (it names o1, no agent and no path)."""
    scopes = ["agent:read", "agent:write", "activity:read"]
    return bearer(mint(scopes, {"orchestrators": ["o1"]}, sub="ops", role="orchestrator"))


@pytest.mark.parametrize(
    "body", [None, {"runtime": {"version": "x"}}], ids=["bodiless", "runtime-only"]
)
async def test_a_heartbeat_reply_shows_only_the_managed_agents_the_caller_reads(
    client: Any, mint: Any, body: dict[str, Any] | None
) -> None:
    """The heartbeat answers with the stored card: as ``GET`` serves it to the caller, not
    every session id and tmux name the host reported (found by review)."""
    await fleet(client)
    ops = o1_ops(mint)
    assert await read_one(client, "o1", ops) == [NEAR, NOWHERE]
    sent = {} if body is None else {"json": body}
    response = await client.post("/api/orchestrators/o1/heartbeat", headers=ops, **sent)
    assert response.status_code == 200, await response.get_data()
    assert managed(await response.get_json()) == [NEAR, NOWHERE]
    # The host's whole list is kept.
    assert await read_one(client, "o1", H) == O1_MANAGED


async def test_a_report_reply_shows_only_the_managed_agents_the_caller_reads(
    client: Any, mint: Any
) -> None:
    await fleet(client)
    entries = [{"agentId": agent_id, "sessionName": f"tmux-{agent_id}"} for agent_id in O1_MANAGED]
    response = await client.patch(
        "/api/orchestrators/o1/agents", json={"managedAgents": entries}, headers=o1_ops(mint)
    )
    assert response.status_code == 200, await response.get_data()
    assert managed(await response.get_json()) == [NEAR, NOWHERE]
    assert await read_one(client, "o1", H) == O1_MANAGED


async def test_a_path_limited_caller_reads_only_the_hosts_its_paths_overlap(
    client: Any, mint: Any
) -> None:
    """A host's card tells its name, host, runtime and capabilities: a caller limited by
    path reads those of a host whose baseDir lies within its paths or holds one of them
    (where it spawns), not another's, on the list, by id and on the stream."""
    await fleet(client)
    below = bearer(mint(READ, {"cwd": ["/srv/o1/x"]}, sub="below", role="dashboard"))
    elsewhere = bearer(mint(READ, {"cwd": ["/srv/o3"]}, sub="elsewhere", role="dashboard"))
    assert await listed(client, below) == {"o1": [NEAR]}
    assert await listed(client, elsewhere) == {}
    for headers, orchestrator_id in (
        (below, "o2"),
        (elsewhere, "o1"),
        (caller(mint, "path"), "o2"),
    ):
        response = await client.get(f"/api/orchestrators/{orchestrator_id}", headers=headers)
        assert response.status_code == 403, await response.get_data()
        assert await response.get_json() == {"error": "forbidden"}
    unknown = await client.get("/api/orchestrators/o9", headers=below)
    assert unknown.status_code == 404
    async with open_stream(client, headers=elsewhere) as stream:
        await report(client, "o1", [NEAR])
        await report(client, "o2", [])
        frames = await until_end(client, stream)
    assert streamed_cards(frames) == {}
