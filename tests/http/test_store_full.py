"""SQLite on a full disk: writes that need space are 503 with Retry-After, never 500, and the
relay writes again as soon as there is room.

A real full disk needs a small filesystem (a tmpfs mount needs root), so the database is
capped instead: ``PRAGMA max_page_count`` set to the pages it has now, on the relay's own
connection. SQLite then fails any write that needs a new page with SQLITE_FULL,
"database or disk is full", the very error a full disk gives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tortoise.connection import get_connection

from tests.conftest import root_headers, services_of, sqlite_only_database_url

H = root_headers()

UNCAPPED = 1_073_741_823  # SQLite's largest max_page_count

BIG = "x" * 64_000  # a timeline body or config value that needs fresh pages


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The faults below are SQLite's: they run in the suite's SQLite run only."""
    return sqlite_only_database_url(tmp_path)


async def cap_pages(app: Any, pages: int | None) -> None:
    """Cap the relay's database at ``pages`` pages (None: at the pages it has now)."""

    async def job() -> None:
        connection = get_connection("default")
        limit = pages
        if limit is None:
            _, rows = await connection.execute_query("PRAGMA page_count")
            limit = int(rows[0][0])
        await connection.execute_query(f"PRAGMA max_page_count = {limit}")

    await services_of(app).runtime.store.run(job)


async def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, await response.get_data()
    assert response.headers.get("Retry-After")
    assert await response.get_json() == {"error": "store unavailable"}


async def test_full_database_is_503_and_writes_resume_when_there_is_room(open_app: Any) -> None:
    async with open_app() as app:
        client = app.test_client()
        assert (await client.post("/api/agents", json={"id": "a1"}, headers=H)).status_code == 201
        acked: list[str] = []
        for round_ in range(3):
            await cap_pages(app, None)

            lost = f"lost {round_}"
            response = await client.post(
                "/api/agents/a1/timeline", json={"title": lost, "body": BIG}, headers=H
            )
            await assert_unavailable(response)
            response = await client.put(
                "/api/config/team/blob", json={"value": f"{round_}{BIG}"}, headers=H
            )
            await assert_unavailable(response)
            # Reads need no room: the relay still answers them, and says it is ready.
            assert (await client.get("/api/agents/a1/timeline", headers=H)).status_code == 200
            assert (await client.get("/readyz")).status_code == 200

            await cap_pages(app, UNCAPPED)
            title = f"kept {round_}"
            response = await client.post(
                "/api/agents/a1/timeline", json={"title": title, "body": BIG}, headers=H
            )
            assert response.status_code == 201, await response.get_data()
            acked.append(title)
            response = await client.put(
                "/api/config/team/blob", json={"value": f"{round_}{BIG}"}, headers=H
            )
            assert response.status_code in (200, 201), await response.get_data()
            heartbeat = await client.post("/api/agents/a1/heartbeat", headers=H)
            assert heartbeat.status_code == 200, await heartbeat.get_data()

        timeline = await client.get("/api/agents/a1/timeline?limit=500", headers=H)
        titles = {entry["title"] for entry in await timeline.get_json()}
        assert set(acked) <= titles
        assert not [t for t in titles if t.startswith("lost")]  # refused, and never written
        history = await client.get("/api/config/team/blob/history", headers=H)
        assert len(await history.get_json()) == 3  # one version per acknowledged PUT
