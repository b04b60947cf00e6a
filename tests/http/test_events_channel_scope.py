"""Channels and their bindings are read with ``message:read``: their ``channel`` events
and "Channel …" audits (the ``channels`` view) reach the stream and the feed of its
holders, and not of a caller with ``config:read`` alone, live and on replay."""

from __future__ import annotations

from typing import Any

from tests.conftest import bearer
from tests.http.helpers import H
from tests.http.sse_client import open_stream, post_activity, until_end


async def _channel_with_a_binding(client: Any) -> None:
    assert (await client.post("/api/channels", json={"id": "ops"}, headers=H)).status_code == 201
    binding = {"mode": "broadcast", "targetType": "agent", "target": "a2"}
    added = await client.post("/api/channels/ops/bindings", json=binding, headers=H)
    assert added.status_code == 201


async def test_channel_events_need_message_read(client: Any, mint: Any) -> None:
    """``config:read`` without ``message:read`` is refused the channels and streamed none
    of their events or audits; ``message:read`` without ``config:read`` is streamed them,
    and reads the audits in the feed's ``channels`` view."""
    config_only = bearer(mint(["activity:read", "config:read"], sub="watcher", role="integration"))
    messages = bearer(mint(["activity:read", "message:read"], sub="reader", role="integration"))
    assert (await client.get("/api/channels", headers=config_only)).status_code == 403
    start = await post_activity(client, "start")
    async with (
        open_stream(client, headers=config_only) as watched,
        open_stream(client, headers=messages) as read,
    ):
        await _channel_with_a_binding(client)
        withheld = await until_end(client, watched)
        shown = await until_end(client, read)
    assert [f.data for f in withheld if f.event == "channel"] == []
    assert [f.data for f in withheld if str(f.data.get("title", "")).startswith("Channel")] == []
    assert [f.data["change"] for f in shown if f.event == "channel"] == [
        "created",
        "binding-added",
    ]
    titles = [f.data["title"] for f in shown if f.event == "activity"]
    assert {"Channel created", "Channel binding added"} <= set(titles)
    assert (await client.get("/api/channels/ops", headers=config_only)).status_code == 403
    feed = await client.get("/api/activity?view=channels", headers=messages)
    assert {row["title"] for row in await feed.get_json()} == {
        "Channel created",
        "Channel binding added",
    }
    feed = await client.get("/api/activity", headers=config_only)
    assert [row for row in await feed.get_json() if row["title"].startswith("Channel")] == []
    replay = {**config_only, "Last-Event-ID": str(start["id"])}
    async with open_stream(client, headers=replay) as stream:
        frames = await until_end(client, stream)
    assert [f.data for f in frames if f.event == "channel"] == []
    assert [f.data for f in frames if f.data.get("view") == "channels"] == []
