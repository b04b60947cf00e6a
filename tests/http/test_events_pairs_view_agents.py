"""A token limited to agents reads no activity row tied to no agent, in the feed and on
the stream alike, the ``pairs`` view's rows too: only ``pair`` events are judged by their
parties rather than by the agent they name."""

from __future__ import annotations

from typing import Any

from tests.conftest import bearer
from tests.http.sse_client import open_stream, post_activity


async def test_a_pairs_row_naming_no_agent_is_withheld_from_an_agent_token(
    client: Any, mint: Any
) -> None:
    """A ``pairs`` row naming no agent is neither in the feed nor streamed (live or on
    replay) to a token limited to ``a1``; a1's own row is."""
    token = bearer(mint(["activity:read", "task:read"], {"agents": ["a1"]}))
    start = await post_activity(client, "start")
    async with open_stream(client, headers=token) as stream:
        await post_activity(client, "pairs row", view="pairs")
        await post_activity(client, "mine", agentId="a1")
        live = [await stream.next_event()]
    feed = await (await client.get("/api/activity?view=pairs", headers=token)).get_json()
    assert feed == []
    assert [f.data["title"] for f in live] == ["mine"]
    replay = {**token, "Last-Event-ID": str(start["id"])}
    async with open_stream(client, headers=replay) as stream:
        replayed = [await stream.next_event()]
    assert [f.data["title"] for f in replayed] == ["mine"]
