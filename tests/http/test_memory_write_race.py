"""Who may update or delete a memory is judged by its MemoryActor on the version it
writes: a change that lands between the caller's authentication and the write (here an
operator's quarantine, which hides the memory from everyone else) is seen, and the
write is refused with nothing changed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from relay.actors.memory import KIND, Delete, Update
from relay.domain.memory import MemoryPatch, Viewer
from relay.errors import Forbidden, NotFound
from relay.http import auth as http_auth
from relay.http import memory as memory_routes
from relay.http.services import Services
from tests.conftest import bearer
from tests.http.helpers import H
from tests.http.test_memory import MEMORY_SCOPES, created, patch
from tests.http.test_messages import agent, error_of


@pytest.fixture
async def a(client: Any, mint: Any) -> dict[str, str]:
    """Agent a1's token (a2 exists too), working in /srv/one."""
    await agent(client, "a1")
    await agent(client, "a2")
    grant = {"agents": ["a1"], "cwd": ["/srv/one"]}
    return bearer(mint(MEMORY_SCOPES, grant, sub="a1", role="agent"))


def quarantine_first(
    client: Any, monkeypatch: pytest.MonkeyPatch, memory_id: str
) -> Callable[[], Awaitable[Viewer]]:
    """Make the next caller's route resolve its viewer, then let an operator block the
    memory before the route asks the actor to write."""
    resolve = http_auth.memory_viewer  # what the route imported
    pending = [True]

    async def viewer_then_block() -> Viewer:
        viewer = await resolve()
        if pending:
            pending.clear()
            response = await patch(client, memory_id, "*", redactionState="blocked")
            assert response.status_code == 200, await response.get_data()
        return viewer

    monkeypatch.setattr(memory_routes, "memory_viewer", viewer_then_block)
    return viewer_then_block


async def stored(client: Any, memory_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/memory/{memory_id}", headers=H)
    assert response.status_code == 200
    reply: dict[str, Any] = await response.get_json()
    return reply


async def test_a_patch_is_judged_on_the_version_it_replaces(
    client: Any, a: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    memory = await created(client, a, scope="repo", scopeKey="/srv/one", title="mine")
    quarantine_first(client, monkeypatch, memory["id"])
    response = await patch(client, memory["id"], "*", a, title="changed")
    assert await error_of(response) == (404, "memory not found")
    after = await stored(client, memory["id"])
    assert (after["title"], after["redactionState"], after["version"]) == ("mine", "blocked", 2)


async def test_a_delete_is_judged_on_the_version_it_deletes(
    client: Any, a: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    memory = await created(client, a, scope="repo", scopeKey="/srv/one")
    quarantine_first(client, monkeypatch, memory["id"])
    response = await client.delete(f"/api/memory/{memory['id']}", headers=a)
    assert await error_of(response) == (404, "memory not found")
    assert (await stored(client, memory["id"]))["redactionState"] == "blocked"


async def test_without_the_race_the_same_writes_pass(client: Any, a: dict[str, str]) -> None:
    memory = await created(client, a, scope="repo", scopeKey="/srv/one", title="mine")
    assert (await patch(client, memory["id"], "*", a, title="changed")).status_code == 200
    response = await client.delete(f"/api/memory/{memory['id']}", headers=a)
    assert response.status_code == 200


async def test_the_actor_refuses_a_viewer_that_may_not_change_the_memory(
    client: Any, services: Services, a: dict[str, str]
) -> None:
    rt = services.runtime
    memory = await created(client, a, scope="agent", scopeKey="a1", title="mine")
    other = Viewer(operator=False, agents=frozenset({"a2"}))
    stranger = Viewer(operator=False, agents=frozenset({"a9"}), principal="a9")
    owner = Viewer(operator=False, agents=frozenset({"a1"}))
    with pytest.raises(NotFound):  # a2 does not see a1's agent scope
        await rt.registry.ask(KIND, memory["id"], Update(MemoryPatch(title="x"), None, other))
    with pytest.raises(NotFound):
        await rt.registry.ask(KIND, memory["id"], Delete(stranger))
    with pytest.raises(Forbidden):  # only operators quarantine
        await rt.registry.ask(
            KIND, memory["id"], Update(MemoryPatch(redaction_state="blocked"), None, owner)
        )
    assert (await stored(client, memory["id"]))["version"] == 1
    written = await rt.registry.ask(KIND, memory["id"], Update(MemoryPatch(title="x"), 1, owner))
    assert written.memory.version == 2
