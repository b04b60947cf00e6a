"""Overload: past RELAY_MAX_SENDS_IN_FLIGHT a send is refused at once with 503 and
Retry-After, stores nothing, and the slot comes back when a send ends (issue 19)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio

from relay.actors.runtime.admission import Admission
from relay.domain.messages import direct_conversation_id
from relay.errors import Unavailable
from tests.conftest import services_of
from tests.http.helpers import H
from tests.http.test_messages import agent, send
from tests.http.test_metrics import scrape, value

BOUND_S = 10.0
OVERLOADED = "relay overloaded: 1 sends in flight, retry later"


@asynccontextmanager
async def one_send_held(
    app: Any, monkeypatch: pytest.MonkeyPatch, start: Callable[[], Awaitable[Any]]
) -> AsyncIterator[list[Any]]:
    """Run ``start()`` with the store's writer held, so that send stays in flight for the
    block; its reply is in the yielded list once the block has ended."""
    group_commit = services_of(app).runtime.store._group_commit
    assert group_commit is not None
    real_run = group_commit._run_in_transaction
    token = trio.lowlevel.current_trio_token()
    release, taken = threading.Event(), trio.Event()
    holding = False

    async def held(jobs: list[Any]) -> list[Any]:
        nonlocal holding
        if not holding:  # the writer's first batch after this: the send's own write
            holding = True
            token.run_sync_soon(taken.set)
            await asyncio.get_running_loop().run_in_executor(None, release.wait, BOUND_S)
        results: list[Any] = await real_run(jobs)
        return results

    monkeypatch.setattr(group_commit, "_run_in_transaction", held)
    replies: list[Any] = []

    async def run() -> None:
        replies.append(await start())

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run)
            with trio.fail_after(BOUND_S):
                await taken.wait()
            yield replies
            release.set()
    finally:
        release.set()


async def two_agents(client: Any) -> None:
    await agent(client, "a1")
    await agent(client, "a2")
    # Both inboxes and the conversation loaded: the held send's first write is its own.
    assert (await send(client, to="a2", body="warm", **{"from": "a1"})).status_code == 201


async def test_a_send_past_the_bound_is_503_at_once_and_stores_nothing(
    open_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_app(max_sends_in_flight=1) as app:
        client = app.test_client()
        await two_agents(client)

        def first() -> Awaitable[Any]:
            return send(client, to="a2", body="first", clientMessageId="k1", **{"from": "a1"})

        async with one_send_held(app, monkeypatch, first) as replies:
            refused = await send(
                client, to="a2", body="second", clientMessageId="k2", **{"from": "a1"}
            )
            assert refused.status_code == 503
            assert refused.headers["Retry-After"] == "1"
            assert (await refused.get_json()) == {"error": OVERLOADED}
            metrics = await scrape(client)
            assert value(metrics["relay_sends_in_flight"], "relay_sends_in_flight") == 1
        [held] = replies
        assert held.status_code == 201

        # The slot is back, and the refused send left nothing: its retry is the first.
        retried = await send(client, to="a2", body="second", clientMessageId="k2", **{"from": "a1"})
        assert retried.status_code == 201
        conversation = direct_conversation_id("a1", "a2")
        page = await (
            await client.get(f"/api/conversations/{conversation}/messages", headers=H)
        ).get_json()
        assert [(m["seq"], m["body"]) for m in page["messages"]] == [
            (1, "warm"),
            (2, "first"),
            (3, "second"),
        ]
        metrics = await scrape(client)
        assert value(metrics["relay_sends_in_flight"], "relay_sends_in_flight") == 0
        assert value(metrics["relay_sends_shed"], "relay_sends_shed_total") == 1


async def test_a_pair_message_and_an_mcp_send_share_the_bound(
    open_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_app(max_sends_in_flight=1) as app:
        client = app.test_client()
        await two_agents(client)
        pair = await (
            await client.post("/api/pairs", json={"driver": "a1", "navigator": "a2"}, headers=H)
        ).get_json()
        minted = await client.post("/api/agents/a1/mcp-token", json={}, headers=H)
        mcp = {"Authorization": f"Bearer {(await minted.get_json())['token']}"}

        def first() -> Awaitable[Any]:
            return send(client, to="a2", body="first", **{"from": "a1"})

        async with one_send_held(app, monkeypatch, first):
            on_pair = await client.post(
                f"/api/pairs/{pair['id']}/messages", json={"body": "p"}, headers=H
            )
            assert on_pair.status_code == 503
            assert (await on_pair.get_json()) == {"error": OVERLOADED}
            # A pair's "message" action is a send too, over the route and MCP alike.
            as_action = await client.post(
                f"/api/pairs/{pair['id']}/actions",
                json={"action": "message", "message": "p"},
                headers=H,
            )
            assert (as_action.status_code, await as_action.get_json()) == (
                503,
                {"error": OVERLOADED},
            )
            calls = (
                ("send_message", {"to": "a2", "body": "m"}),
                ("pair_action", {"pairId": pair["id"], "action": "message", "message": "m"}),
            )
            for tool, arguments in calls:
                call = {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "tools/call",
                    "params": {"name": tool, "arguments": arguments},
                }
                headers = {**mcp, "Accept": "application/json, text/event-stream"}
                reply = await client.post("/mcp", json=call, headers=headers)
                result = (await reply.get_json())["result"]
                assert result["isError"] is True, tool
                assert result["content"] == [{"type": "text", "text": OVERLOADED}], tool
            # Other pair actions are no sends: not shed.
            joined = await client.post(
                f"/api/pairs/{pair['id']}/actions", json={"action": "join"}, headers=H
            )
            assert joined.status_code != 503
        metrics = await scrape(client)
        assert value(metrics["relay_sends_shed"], "relay_sends_shed_total") == 4


def test_admission_counts_slots_and_frees_one_on_error() -> None:
    admission = Admission(2)
    with admission.slot(), admission.slot():
        assert admission.in_flight == 2
        with pytest.raises(Unavailable) as refused:
            admission.slot().__enter__()
        assert refused.value.headers == {"Retry-After": "1"}
    assert (admission.in_flight, admission.shed) == (0, 1)
    with pytest.raises(ValueError, match="the send failed"), admission.slot():
        raise ValueError("the send failed")
    assert admission.in_flight == 0
