"""What one message costs the store: the statements of a direct send, the fetch that leases
it and the fetch that acks it (issue 19's CPU per message). A guard: a change that adds a
statement to this path fails here and says which."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Iterator
from typing import Any

import pytest
import trio
from tortoise.backends.base.client import BaseDBAsyncClient

from relay.store import agents as agent_store
from tests.http.helpers import H, register_orchestrator
from tests.http.test_agent_actions import CLAUDE_META, register_agent
from tests.http.test_channel_messages import wakes
from tests.http.test_inbox import fetch, queue, setup_pair
from tests.http.test_inbox_handoff import poll_while
from tests.http.test_messages import send

_EXECUTE = ("execute_query", "execute_query_dict", "execute_insert", "execute_many")
# Inside a counted call: a client that delegates to another (a transaction wrapper to its
# connection) is one statement, not two.
_inside: contextvars.ContextVar[bool] = contextvars.ContextVar("inside", default=False)


def _clients() -> Iterator[type[BaseDBAsyncClient]]:
    pending = [BaseDBAsyncClient]
    while pending:
        cls = pending.pop()
        yield cls
        pending.extend(cls.__subclasses__())


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SQL statement relay runs (through any tortoise client), as its first words."""
    seen: list[str] = []

    def counting(real: Any) -> Any:
        @functools.wraps(real)
        async def wrapper(self: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
            if _inside.get():
                return await real(self, sql, *args, **kwargs)
            seen.append(" ".join(sql.split()[:3]))
            token = _inside.set(True)
            try:
                return await real(self, sql, *args, **kwargs)
            finally:
                _inside.reset(token)

        return wrapper

    for cls in _clients():
        for name in _EXECUTE:
            if name in cls.__dict__:
                monkeypatch.setattr(cls, name, counting(cls.__dict__[name]))
    return seen


async def acked(client: Any, message_id: str) -> bool:
    response = await client.get(f"/api/messages/{message_id}/deliveries", headers=H)
    assert response.status_code == 200, await response.get_data()
    return [d["state"] for d in await response.get_json()] == ["acked"]


def _tables(seen: list[str]) -> list[str]:
    return sorted(s.replace('"', "") for s in seen)


async def test_a_message_costs_nine_statements_and_no_read(
    client: Any, statements: list[str]
) -> None:
    await setup_pair(client)
    # Warm: both agents' actors have run (their directory entries), the conversation and
    # the inbox exist; a lease is open to ack.
    await queue(client, "warm", ackRequired=True)
    lease = (await (await fetch(client, "?lease=30")).get_json())["leaseId"]
    statements.clear()

    await queue(client, "m", ackRequired=True)
    assert _tables(statements) == [
        "INSERT INTO deliveries",
        "INSERT INTO messages",
        "INSERT INTO stream_events",
        "INSERT INTO stream_events",
        "UPDATE conversations SET",
    ]
    statements.clear()
    # One fetch acks the last lease and leases the new message: one update and one event
    # each. Authorizing it reads nothing: the agents' actors hold their orchestrators.
    reply = await (await fetch(client, f"?lease=30&ack={lease}")).get_json()
    assert [item["message"]["body"] for item in reply["items"]] == ["m"]
    assert _tables(statements) == [
        "INSERT INTO stream_events",
        "INSERT INTO stream_events",
        "UPDATE deliveries SET",
        "UPDATE deliveries SET",
    ]


async def test_a_deleted_agent_is_not_found_without_its_row(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The directory forgets a deleted agent: its inbox is 404 again, from the store."""
    await setup_pair(client)
    await queue(client, "m")
    reads: list[tuple[str, ...]] = []
    real = agent_store.placements_of

    async def counted(agent_ids: tuple[str, ...]) -> Any:
        reads.append(agent_ids)
        return await real(agent_ids)

    monkeypatch.setattr(agent_store, "placements_of", counted)
    assert (await fetch(client)).status_code == 200
    assert reads == []
    assert (await client.delete("/api/agents/a2", headers=H)).status_code == 200
    response = await fetch(client)
    assert response.status_code == 404
    assert reads == [("a2",)]


async def test_a_send_wakes_an_agent_made_runner_managed_by_a_patch(client: Any) -> None:
    """Whether a first delivery wakes its agent is judged on the card its actor holds: a
    patch that makes it runner-managed counts at once, one that unmakes it too."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await register_agent(client, "a1", orchestratorId="o1", meta={"sessionName": "s-a1"})
    await register_agent(client, "a2")
    assert (await send(client, to="a1", body="m0", **{"from": "a2"})).status_code == 201
    assert await wakes(client, "a1") == []
    await drain(client, "a1")
    patched = await client.patch("/api/agents/a1", json={"meta": CLAUDE_META}, headers=H)
    assert patched.status_code == 200, await patched.get_data()
    assert (await send(client, to="a1", body="m1", **{"from": "a2"})).status_code == 201
    assert [w["params"]["reason"] for w in await wakes(client, "a1")] == ["message"]


async def drain(client: Any, agent_id: str) -> None:
    response = await client.get(f"/api/agents/{agent_id}/inbox?limit=100", headers=H)
    assert response.status_code == 200, await response.get_data()


async def test_a_message_to_a_waiting_fetch_is_one_write(
    client: Any, services: Any, statements: list[str]
) -> None:
    """A fetch already waiting is handed the delivery by the send that queues it: the
    delivery is inserted leased (its queued and leased events beside it), and the fetch
    returns without asking the inbox again: no update, no second commit."""
    await setup_pair(client)
    warm = (await queue(client, "warm", ackRequired=True))["message"]["id"]
    lease = (await (await fetch(client, "?lease=30")).get_json())["leaseId"]

    async def send() -> None:
        # The poll waits with its offer standing; its ack of the warm lease may be offered
        # before its write commits, so count from when the store shows it acked (else the
        # ack's own statements were counted, now and then, under load).
        with trio.fail_after(10):
            while not await acked(client, warm):  # noqa: ASYNC110
                await trio.sleep(0.01)
        statements.clear()
        await queue(client, "m", ackRequired=True)

    reply = await poll_while(client, services, f"?lease=30&wait=30&ack={lease}", send)
    assert [item["message"]["body"] for item in reply["items"]] == ["m"]
    assert _tables(statements) == [
        "INSERT INTO deliveries",
        "INSERT INTO messages",
        "INSERT INTO stream_events",
        "INSERT INTO stream_events",
        "INSERT INTO stream_events",
        "UPDATE conversations SET",
    ]
