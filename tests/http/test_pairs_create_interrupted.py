"""Forming a pair that does not finish (the request cancelled, the store refusing) leaves
no agent taken by a pair that does not exist, and never frees the agents of a pair that
was stored (spec tasks.md, "Pairs": a party in a pair not final → 409)."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from relay.actors.pairs.messages import Create
from relay.errors import Unavailable
from relay.http.services import Services
from relay.store import pairs as pair_store
from tests.http.helpers import H
from tests.http.test_pairs import agent, error_of


async def create(client: Any) -> Any:
    return await client.post("/api/pairs", json={"driver": "d1", "navigator": "n1"}, headers=H)


async def listed(client: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await (await client.get("/api/pairs", headers=H)).get_json()
    return found


@pytest.mark.parametrize("stored", [False, True], ids=["before-create", "after-create"])
async def test_a_create_cancelled_while_forming_the_pair(
    client: Any, services: Services, monkeypatch: pytest.MonkeyPatch, stored: bool
) -> None:
    """The request is cancelled (its client went away) once both agents are reserved:
    before the pair was stored, they are free again (a new pair of them is formed, 201);
    after, the pair exists and keeps them (409 ``agent d1 is already in pair …``)."""
    await agent(client, "d1")
    await agent(client, "n1")
    registry = services.runtime.registry
    ask = registry.ask
    outer = trio.CancelScope()

    async def cancelled_at_create(kind: str, key: str, message: Any, **kwargs: Any) -> Any:
        if not isinstance(message, Create):
            return await ask(kind, key, message, **kwargs)
        reply = await ask(kind, key, message, **kwargs) if stored else None
        outer.cancel()
        await trio.lowlevel.checkpoint()
        return reply

    monkeypatch.setattr(registry, "ask", cancelled_at_create)
    with outer:
        await create(client)
    assert outer.cancelled_caught
    monkeypatch.setattr(registry, "ask", ask)

    pairs = await listed(client)
    assert len(pairs) == (1 if stored else 0)
    again = await create(client)
    if stored:
        assert await error_of(again) == (409, f"agent d1 is already in pair {pairs[0]['id']}")
    else:
        assert again.status_code == 201, await again.get_data()


async def test_a_create_the_pair_actor_refuses_frees_the_agents(
    client: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pair could not be stored (503): nothing exists and the agents are free, so the
    client's retry forms the pair."""
    await agent(client, "d1")
    await agent(client, "n1")
    registry = services.runtime.registry
    ask = registry.ask

    async def refused_at_create(kind: str, key: str, message: Any, **kwargs: Any) -> Any:
        if isinstance(message, Create):
            raise Unavailable("pair actor timed out")
        return await ask(kind, key, message, **kwargs)

    monkeypatch.setattr(registry, "ask", refused_at_create)
    response = await create(client)
    assert response.status_code == 503
    monkeypatch.setattr(registry, "ask", ask)
    assert await listed(client) == []
    again = await create(client)
    assert again.status_code == 201, await again.get_data()


async def test_a_create_failed_by_a_store_outage_frees_the_agents_once_the_store_is_back(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store is down while d1 and n1 are paired: 503, nothing stored. Once it is back,
    the client's retry forms the pair (201): the agents are not left "already in pair"
    a pair that never existed until the relay restarts."""
    await agent(client, "d1")
    await agent(client, "n1")

    async def down(*_args: Any, **_kwargs: Any) -> Any:
        raise Unavailable("store unavailable")

    # Every read and write of a pair fails, as in an outage (the parties' index is
    # memory: its reservation succeeds).
    monkeypatch.setattr(pair_store, "load", down)
    monkeypatch.setattr(pair_store, "insert", down)
    response = await create(client)
    assert response.status_code == 503, await response.get_data()
    monkeypatch.undo()
    assert await (await client.get("/api/pairs", headers=H)).get_json() == []
    again = await create(client)
    assert again.status_code == 201, await error_of(again)
