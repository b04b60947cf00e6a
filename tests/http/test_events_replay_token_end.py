"""A replay (``GET /api/events`` with ``Last-Event-ID``) ends like the live stream when
its token stops counting: a token revoked or expired before or during its replay is sent
no page read from then on, only ``signed-out`` with the reason, and the stream ends."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors.tokens.issuing import deny
from relay.clock import ManualClock
from relay.events import StreamFilter
from relay.http import events as events_module
from relay.http.services import Services
from relay.store import stream as stream_store
from tests.conftest import bearer
from tests.http.sse_client import open_stream, post_activity
from tests.http.test_stream_end import last_frames


async def _replay_of_three(client: Any, monkeypatch: pytest.MonkeyPatch) -> int:
    """Three logged rows after a "start" row, replayed one per page; the start's id."""
    start = await post_activity(client, "start")
    for title in ("one", "two", "three"):
        await post_activity(client, title)
    monkeypatch.setattr(events_module, "REPLAY_PAGE", 1)
    start_id: int = start["id"]
    return start_id


def _before_second_page(monkeypatch: pytest.MonkeyPatch, action: Any) -> None:
    """Run ``action()`` as the replay asks the store for its second page."""
    real = stream_store.after
    calls = 0

    async def after(after_id: int, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            action()
        return await real(after_id, **kwargs)

    monkeypatch.setattr(stream_store, "after", after)


async def test_a_token_revoked_during_its_replay_is_sent_no_more_of_it(
    client: Any, services: Services, mint: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A revocation ends the token's streams at once (README), a replay in progress too:
    the pages read before it are sent, then ``signed-out`` (token revoked), nothing more."""
    start_id = await _replay_of_three(client, monkeypatch)
    token = mint(["activity:read"])
    jti = services.auth.verify(token).jti
    _before_second_page(monkeypatch, lambda: deny(services.auth, services.runtime, jti))
    headers = {**bearer(token), "Last-Event-ID": str(start_id)}
    async with open_stream(client, headers=headers) as stream:
        frames = await last_frames(stream)
    assert [f.data["title"] for f in frames if f.id is not None] == ["one"]
    assert (frames[-1].event, frames[-1].data) == ("signed-out", {"reason": "token revoked"})


async def test_a_token_expiring_during_its_replay_is_sent_no_more_of_it(
    client: Any, clock: ManualClock, mint: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token that reaches its ``exp`` during a replay is sent no page read after it:
    ``signed-out`` (token expired), and the stream ends."""
    start_id = await _replay_of_three(client, monkeypatch)
    token = mint(["activity:read"], ttl=60)
    _before_second_page(monkeypatch, lambda: clock.advance(120))
    headers = {**bearer(token), "Last-Event-ID": str(start_id)}
    async with open_stream(client, headers=headers) as stream:
        frames = await last_frames(stream)
    assert [f.data["title"] for f in frames if f.id is not None] == ["one"]
    assert (frames[-1].event, frames[-1].data) == ("signed-out", {"reason": "token expired"})


async def test_a_token_revoked_before_its_stream_subscribed_is_replayed_nothing(
    client: Any, services: Services, mint: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token revoked after its request was authenticated but before its stream
    subscribed is replayed nothing: ``signed-out`` (token revoked) at once."""
    start_id = await _replay_of_three(client, monkeypatch)
    token = mint(["activity:read"])
    jti = services.auth.verify(token).jti
    real = events_module.caller_filter

    async def then_revoked(*args: Any, **kwargs: Any) -> StreamFilter:
        stream_filter = await real(*args, **kwargs)
        deny(services.auth, services.runtime, jti)
        return stream_filter

    monkeypatch.setattr(events_module, "caller_filter", then_revoked)
    headers = {**bearer(token), "Last-Event-ID": str(start_id)}
    async with open_stream(client, headers=headers) as stream:
        frames = await last_frames(stream)
    assert [(f.event, f.data) for f in frames] == [("signed-out", {"reason": "token revoked"})]
