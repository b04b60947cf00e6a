"""Repeats of one new ``clientMessageId`` racing into an exclusive channel (promise 1 with
the channel's rotation), and routing that reads only the cards its bindings can match."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from relay.actors import channels, inbox
from relay.errors import Unavailable
from relay.http.services import Services
from relay.settings import Settings
from relay.store import agents as agent_store
from tests.conftest import root_headers
from tests.http.test_channel_messages import channel, post, recipients, register, route, sent

H = root_headers()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "job_agent_reaper_seconds": 3600,
            "job_inbox_lease_expiry_seconds": 3600,
            "job_message_expiry_seconds": 3600,
        }
    )


async def racing_repeats(client: Any, count: int, **body: Any) -> list[tuple[int, Any]]:
    replies: list[tuple[int, Any]] = []

    async def one() -> None:
        response = await post(client, channelId="ops", clientMessageId="job-1", **body)
        replies.append((response.status_code, await response.get_json()))

    async with trio.open_nursery() as nursery:
        for _ in range(count):
            nursery.start_soon(one)
    return replies


async def test_racing_first_sends_of_one_client_message_id_pick_once(
    client: Any, services: Services
) -> None:
    await register(client, "w1", tags=["w"])
    await register(client, "w2", tags=["w"])
    await channel(client, "ops", {"mode": "exclusive"})
    replies = await racing_repeats(client, 10, body="job")
    assert sorted(status for status, _ in replies) == [200] * 9 + [201]
    assert len({reply["message"]["id"] for _, reply in replies}) == 1
    assert {tuple(recipients(reply)) for _, reply in replies} == {("w1",)}
    # The rotation moved once: only w1 was ever chosen, and the next send (w1 holds one
    # delivery) goes to w2, as the dry run says.
    state = await channels.get_channel(services.runtime, "ops")
    assert list(state.last_chosen) == ["w1"]
    assert await route(client) == ["w2"]
    assert recipients(await sent(client, channelId="ops", body="next")) == ["w2"]


async def test_a_racing_repeat_with_another_body_moves_nothing(
    client: Any, services: Services
) -> None:
    await register(client, "w1", tags=["w"])
    await register(client, "w2", tags=["w"])
    await channel(client, "ops", {"mode": "exclusive"})
    replies: list[tuple[int, Any]] = []

    async def one(body: str) -> None:
        response = await post(client, channelId="ops", clientMessageId="job-1", body=body)
        replies.append((response.status_code, await response.get_json()))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(one, "first")
        nursery.start_soon(one, "second")
    assert sorted(status for status, _ in replies) == [201, 409]
    conflict = next(reply for status, reply in replies if status == 409)
    assert conflict["error"] == "clientMessageId already used for a different message"
    state = await channels.get_channel(services.runtime, "ops")
    assert list(state.last_chosen) == ["w1"]


@pytest.fixture
def no_full_scan(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    scans: list[str] = []
    real = agent_store.list_cards

    async def counted(**kwargs: Any) -> Any:
        scans.append("list_cards")
        return await real(**kwargs)

    monkeypatch.setattr(agent_store, "list_cards", counted)
    return scans


@pytest.mark.parametrize(
    ("binding", "fields", "others"),
    [
        ({"targetType": "agent", "target": "a1"}, {}, {}),
        ({"targetType": "tag", "target": "w_1"}, {"tags": ["w_1", "x"]}, {"tags": ["wx1"]}),
        (
            {"targetType": "label", "target": "build 50%"},
            {"meta": {"label": "build 50%"}},
            {"meta": {"label": "build 500"}},
        ),
        (
            {"targetType": "capability", "target": "py"},
            {"meta": {"capabilities": ["go", "py"]}},
            {"meta": {"capabilities": "py", "note": "PY"}},
        ),
    ],
)
async def test_routing_reads_only_the_cards_a_binding_can_match(
    client: Any,
    no_full_scan: list[str],
    binding: dict[str, str],
    fields: dict[str, Any],
    others: dict[str, Any],
) -> None:
    await register(client, "a1", **fields)
    await register(client, "a2", **others)  # near misses: LIKE's wildcards, case, a non-list
    await channel(client, "ops", {"mode": "broadcast", **binding})
    assert await route(client) == ["a1"]
    assert recipients(await sent(client, channelId="ops")) == ["a1"]
    assert no_full_scan == []


async def test_a_target_sql_cannot_narrow_still_routes(
    client: Any, no_full_scan: list[str]
) -> None:
    await register(client, "a1", tags=['é"q'])
    await register(client, "a2", tags=["e"])
    await channel(client, "ops", {"mode": "broadcast", "targetType": "tag", "target": 'é"q'})
    assert await route(client) == ["a1"]
    assert no_full_scan == ["list_cards"]


async def test_a_channel_send_reads_no_card_one_at_a_time(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sender's card comes from the send's one read, the recipients' (for the wake) from
    routing's: neither the may-post check nor the wake reads a card again."""
    for agent_id in ("a1", "a2", "a3"):
        await register(client, agent_id, tags=["w"])
    await channel(client, "ops", {"mode": "broadcast"})
    loads: list[str] = []
    real = agent_store.load

    async def counted(agent_id: str) -> Any:
        loads.append(agent_id)
        return await real(agent_id)

    monkeypatch.setattr(agent_store, "load", counted)
    assert recipients(await sent(client, channelId="ops")) == ["a1", "a2", "a3"]
    assert recipients(await sent(client, channelId="ops", **{"from": "a1"})) == ["a2", "a3"]
    assert loads == []


async def test_a_broadcast_queues_its_deliveries_together(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All inboxes are asked before any answers (their writes share a commit); one that
    fails answers the send as itself (503 here, never a 500 of a wrapped group), and the
    others are queued."""
    for agent_id in ("a1", "a2", "a3"):
        await register(client, agent_id, tags=["w"])
    await channel(client, "ops", {"mode": "broadcast"})
    real = inbox.enqueue
    asked: list[str] = []
    all_asked = trio.Event()

    async def gated(rt: Any, agent_id: str, message: Any, **kwargs: Any) -> Any:
        asked.append(agent_id)
        if len(asked) == 3:
            all_asked.set()
        await all_asked.wait()  # only returns once every inbox was asked
        return await real(rt, agent_id, message, **kwargs)

    monkeypatch.setattr(inbox, "enqueue", gated)
    with trio.fail_after(10):
        assert recipients(await sent(client, channelId="ops")) == ["a1", "a2", "a3"]

    async def failing(rt: Any, agent_id: str, message: Any, **kwargs: Any) -> Any:
        if agent_id == "a2":
            raise Unavailable("store timed out")
        return await real(rt, agent_id, message, **kwargs)

    monkeypatch.setattr(inbox, "enqueue", failing)
    response = await post(client, channelId="ops", body="second")
    assert response.status_code == 503
    assert (await response.get_json())["error"] == "store timed out"
    for agent_id, count in (("a1", 2), ("a2", 1), ("a3", 2)):
        items = await (
            await client.get(f"/api/agents/{agent_id}/inbox?peek=true", headers=H)
        ).get_json()
        assert len(items["items"]) == count
