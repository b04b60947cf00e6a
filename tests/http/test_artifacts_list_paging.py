"""GET /api/artifacts for a caller that may not read every secret artifact: ``limit``
counts the artifacts it may read, never the newer secret ones it skips."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors.artifacts import flows as artifact_flows
from relay.clock import ManualClock
from relay.store import artifacts as artifact_store
from tests.conftest import bearer
from tests.http.helpers import H
from tests.http.test_artifacts import agent, agent_token, uploaded


async def listed(client: Any, query: str, headers: Any = None) -> list[str]:
    response = await client.get(f"/api/artifacts?{query}", headers=headers or H)
    assert response.status_code == 200, await response.get_data()
    return [artifact["id"] for artifact in await response.get_json()]


async def library(client: Any, clock: ManualClock, mint: Any, *, step: float = 0.001) -> list[str]:
    """Five secret artifacts of a2 (kinds alternately ``log`` and ``file``), then ten newer
    secret ones of a1. The ids of a2's, newest first."""
    await agent(client, "a1")
    await agent(client, "a2")
    readable = []
    for i in range(5):
        clock.advance(step)
        kind = ("log", "file")[i % 2]
        body = await uploaded(
            client, b"a2", sensitivity="secret", kind=kind, headers=agent_token(mint, "a2")
        )
        readable.append(body["artifact"]["id"])
    for _ in range(10):
        clock.advance(step)
        await uploaded(client, b"a1", sensitivity="secret", headers=agent_token(mint, "a1"))
    return readable[::-1]


async def test_a_page_holds_limit_readable_artifacts(
    client: Any, clock: ManualClock, mint: Any
) -> None:
    newest_first = await library(client, clock, mint)
    a2 = agent_token(mint, "a2")
    assert await listed(client, "limit=3", a2) == newest_first[:3]
    assert await listed(client, "limit=1", a2) == newest_first[:1]


async def test_the_limit_still_bounds_the_reply(client: Any, clock: ManualClock, mint: Any) -> None:
    newest_first = await library(client, clock, mint)
    a2 = agent_token(mint, "a2")
    assert await listed(client, "limit=10", a2) == newest_first
    assert await listed(client, "limit=5", a2) == newest_first
    assert len(await listed(client, "limit=4")) == 4
    assert len(await listed(client, "")) == 15


async def test_the_filters_hold_on_every_batch(client: Any, clock: ManualClock, mint: Any) -> None:
    newest_first = await library(client, clock, mint)
    a2 = agent_token(mint, "a2")
    logs = [newest_first[i] for i in (0, 2, 4)]  # uploaded 5th, 3rd and 1st
    assert await listed(client, "kind=log&limit=2", a2) == logs[:2]
    assert await listed(client, "createdBy=a2&limit=2", a2) == newest_first[:2]
    assert await listed(client, "createdBy=a1&limit=2", a2) == []


async def test_artifacts_of_the_same_millisecond_page_in_order(
    client: Any, clock: ManualClock, mint: Any
) -> None:
    """The batches continue after the last row read, also within one ``createdAt``."""
    readable = set(await library(client, clock, mint, step=0))
    in_order = [a for a in await listed(client, "limit=100") if a in readable]
    assert len(in_order) == 5
    a2 = agent_token(mint, "a2")
    assert await listed(client, "limit=3", a2) == in_order[:3]
    assert await listed(client, "limit=5", a2) == in_order


async def test_the_scan_is_bounded(
    client: Any, clock: ManualClock, mint: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ``_MAX_SCANNED`` rows read, the page is answered as it stands."""
    newest_first = await library(client, clock, mint)
    monkeypatch.setattr(artifact_flows, "_BATCH", 2)
    monkeypatch.setattr(artifact_flows, "_MAX_SCANNED", 11)
    a2 = agent_token(mint, "a2")
    assert await listed(client, "limit=2", a2) == newest_first[:1]
    monkeypatch.setattr(artifact_flows, "_MAX_SCANNED", 12)
    assert await listed(client, "limit=2", a2) == newest_first[:2]


async def test_who_reads_every_artifact_is_answered_by_one_query(
    client: Any, clock: ManualClock, mint: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await library(client, clock, mint)
    calls: list[tuple[Any, ...]] = []
    store_listed = artifact_store.listed

    async def counted(*args: Any) -> Any:
        calls.append(args)
        return await store_listed(*args)

    monkeypatch.setattr(artifact_store, "listed", counted)
    dashboard = bearer(mint(["task:read"], role="dashboard"))
    for headers in (H, dashboard):
        calls.clear()
        assert len(await listed(client, "limit=3", headers)) == 3
        assert calls == [(None, None, 3, None)]
