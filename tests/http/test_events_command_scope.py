"""Commands and merge leases are read with ``command:read`` on every route; the event
stream and the feed give them, and the command audits, only to callers holding it, live
and on replay. Agent events still reach an ``activity:read`` token."""

from __future__ import annotations

from typing import Any

from tests.conftest import bearer
from tests.http.helpers import H, create_command, register_orchestrator
from tests.http.sse_client import open_stream, until_end
from tests.http.test_merge_lease_constraints import two_merges


async def test_command_events_need_command_read(client: Any, mint: Any) -> None:
    """A token with ``activity:read`` but no ``command:read`` is refused the commands over
    HTTP and is streamed no ``command`` event (params, result), live or on replay; a
    token with ``command:read`` is streamed them."""
    await register_orchestrator(client, "o1", "/srv/o1")
    watcher = bearer(mint(["activity:read"], sub="watcher", role="integration"))
    reader = bearer(mint(["activity:read", "command:read"], sub="reader", role="integration"))
    assert (await client.get("/api/commands", headers=watcher)).status_code == 403
    command = await create_command(
        client, "o1", params={"cwd": "/srv/o1/x", "prompt": "rotate the prod key"}
    )
    one = await client.get(f"/api/commands/{command['id']}", headers=watcher)
    assert one.status_code == 403
    async with (
        open_stream(client, headers=watcher) as watched,
        open_stream(client, headers=reader) as read,
    ):
        await create_command(client, "o1", params={"cwd": "/srv/o1/y", "prompt": "and again"})
        frames = await until_end(client, watched)
        shown = await until_end(client, read)
    assert [f.data for f in frames if f.event == "command"] == []
    assert [f.data["command"]["params"]["prompt"] for f in shown if f.event == "command"] == [
        "and again"
    ]
    replayed = {**watcher, "Last-Event-ID": "0"}
    async with open_stream(client, headers=replayed) as stream:
        frames = await until_end(client, stream)
    assert [f.data for f in frames if f.event == "command"] == []
    replayed = {**reader, "Last-Event-ID": "0"}
    async with open_stream(client, headers=replayed) as stream:
        frames = await until_end(client, stream)
    assert len([f for f in frames if f.event == "command"]) >= 2


async def test_command_audits_need_command_read(client: Any, mint: Any) -> None:
    """The commands view's audit rows (a command queued, settled, its error) reach the
    feed and the stream of ``command:read`` holders only."""
    await register_orchestrator(client, "o1", "/srv/o1")
    watcher = bearer(mint(["activity:read"], sub="watcher", role="integration"))
    reader = bearer(mint(["activity:read", "command:read"], sub="reader", role="integration"))
    async with open_stream(client, headers=watcher) as stream:
        await create_command(client, "o1")
        frames = await until_end(client, stream)
    assert [f.data for f in frames if f.data.get("view") == "commands"] == []
    feed = await client.get("/api/activity?view=commands", headers=watcher)
    assert await feed.get_json() == []
    feed = await client.get("/api/activity?view=commands", headers=reader)
    assert [row["view"] for row in await feed.get_json()] == ["commands"]


async def test_lease_events_need_command_read(client: Any, mint: Any) -> None:
    """Merge leases are listed with ``command:read``: their events reach only its holders."""
    watcher = bearer(mint(["activity:read"], sub="watcher", role="integration"))
    reader = bearer(mint(["activity:read", "command:read"], sub="reader", role="integration"))
    assert (await client.get("/api/merge-leases", headers=watcher)).status_code == 403
    async with (
        open_stream(client, headers=watcher) as watched,
        open_stream(client, headers=reader) as read,
    ):
        await two_merges(client)
        withheld = await until_end(client, watched)
        shown = await until_end(client, read)
    assert [f.data for f in withheld if f.event == "lease"] == []
    assert [f.event for f in shown if f.event == "lease"] != []


async def test_agent_events_still_reach_an_activity_read_token(client: Any, mint: Any) -> None:
    """An ``activity:read`` token is streamed agent events (a design choice kept)."""
    watcher = bearer(mint(["activity:read"], sub="watcher", role="integration"))
    async with open_stream(client, headers=watcher) as stream:
        response = await client.post("/api/agents", json={"id": "a1"}, headers=H)
        assert response.status_code == 201
        frames = await until_end(client, stream)
    assert "a1" in [f.data["agent"]["id"] for f in frames if f.event == "agent"]
