"""The agents directory (``Runtime.agents``) says only what is stored: an orchestrator
change counts for authorization once it is committed, and one that failed never does."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import trio

from relay.domain.agents import AgentCard
from relay.errors import Unavailable
from relay.http.services import Services
from relay.store import agents as agent_store
from tests.http.helpers import H
from tests.http.test_agent_actions import register_agent

SCOPES = ["agent:read", "agent:write", "message:read", "message:write"]


def _orchestrator(mint: Any, orchestrator_id: str) -> dict[str, str]:
    token = mint(
        SCOPES, {"orchestrators": [orchestrator_id]}, role="orchestrator", sub=orchestrator_id
    )
    return {"Authorization": f"Bearer {token}"}


async def _inbox_status(client: Any, headers: dict[str, str]) -> int:
    response = await client.get("/api/agents/a1/inbox?wait=0", headers=headers)
    return int(response.status_code)


async def test_a_failed_orchestrator_change_never_authorizes(
    client: Any, mint: Any, services: Services, monkeypatch: Any
) -> None:
    await register_agent(client, "a1", orchestratorId="o1")
    o1, o2 = _orchestrator(mint, "o1"), _orchestrator(mint, "o2")
    assert await _inbox_status(client, o1) == 200

    async def down(*_args: Any) -> Any:
        raise Unavailable("store unavailable")

    # The write fails, and so does the reload it triggers: nothing repairs memory.
    monkeypatch.setattr(agent_store, "update", down)
    monkeypatch.setattr(agent_store, "load", down)
    moved = await client.post("/api/agents", json={"id": "a1", "orchestratorId": "o2"}, headers=H)
    assert moved.status_code == 503
    monkeypatch.undo()

    stored = await services.runtime.store.run(lambda: agent_store.orchestrators_of(("a1",)))
    assert stored == {"a1": "o1"}
    assert await _inbox_status(client, o2) == 403
    assert await _inbox_status(client, o1) == 200


async def test_an_orchestrator_change_authorizes_only_once_committed(
    client: Any, mint: Any, monkeypatch: Any
) -> None:
    await register_agent(client, "a1", orchestratorId="o1")
    o1, o2 = _orchestrator(mint, "o1"), _orchestrator(mint, "o2")
    assert await _inbox_status(client, o1) == 200
    writing, release = threading.Event(), threading.Event()
    update = agent_store.update

    async def held(card: AgentCard) -> None:
        writing.set()
        await asyncio.get_running_loop().run_in_executor(None, release.wait)
        await update(card)

    monkeypatch.setattr(agent_store, "update", held)
    replies: list[int] = []

    async def move() -> None:
        body = {"id": "a1", "orchestratorId": "o2"}
        replies.append((await client.post("/api/agents", json=body, headers=H)).status_code)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(move)
        await trio.to_thread.run_sync(writing.wait)
        # Queued, not committed: the store still says o1, and so does authorization.
        assert await _inbox_status(client, o2) == 403
        release.set()
    assert replies == [200]
    assert await _inbox_status(client, o2) == 200
    assert await _inbox_status(client, o1) == 403
