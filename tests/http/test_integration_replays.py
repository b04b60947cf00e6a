"""A repeated integration delivery (spec/tasks.md: the same reply, nothing new dispatched)
after an outage: it runs what the first delivery triggered and could not keep, once, and
nothing saved since; a run repeated so renders and posts what it did the first time."""

from __future__ import annotations

from typing import Any

import pytest

from relay.clock import ManualClock
from tests.http.helpers import H
from tests.http.integration_setup import (  # noqa: F401  (app: the app with integration ci)
    CI_TOKENS,
    agent,
    app,
    cut_off,
    deliver,
    inbox_bodies,
    message_to,
)
from tests.http.integration_setup import save_automation as automation


def task_titled(title: str) -> dict[str, Any]:
    return {"type": "create_task", "task": {"title": title}}


async def task_titles(client: Any) -> list[str]:
    response = await client.get("/api/tasks", headers=H)
    assert response.status_code == 200, await response.get_data()
    return sorted(t["title"] for t in await response.get_json())


# -- a repeated delivery dispatches nothing new -------------------------------------------


async def test_a_repeated_delivery_does_not_run_an_automation_saved_after_the_first(
    client: Any,
) -> None:
    """spec/tasks.md: a repeated X-Delivery-Id → 200, the same, "nothing dispatched". The
    replay now dispatches every triggered automation without a kept result for the event,
    so one saved (or enabled, or retargeted) after the event arrived runs on the old event
    when the integration merely retries a delivery it already got a 201 for."""
    await agent(client, "a1")
    first = await automation(client, "a-first", message_to("a1", "from a-first"))
    response = await deliver(client, "d-1")
    assert response.status_code == 201, await response.get_data()
    assert [d["automationId"] for d in (await response.get_json())["dispatches"]] == [first["id"]]
    await automation(client, "b-later", message_to("a1", "from b-later"))

    replay = await deliver(client, "d-1")
    assert replay.status_code == 200, await replay.get_data()
    got = await replay.get_json()
    assert [d["automationId"] for d in got["dispatches"]] == [first["id"]], got
    assert await inbox_bodies(client, "a1") == ["from a-first"]


async def test_a_replayed_message_with_a_time_in_its_body_is_not_recorded_as_failed(
    client: Any, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The once-key <automation>:<event> makes the replay's send a repeat, but a body that
    renders {{now}} differs on the replay: the send is refused 409 ("clientMessageId already
    used for a different message") and the dispatch is kept as failed (with a "dispatch
    failed" audit) though its message was posted. The replay's result must be the message
    posted first."""
    await agent(client, "a1")
    saved = await automation(client, "stamp", message_to("a1", "build failed at {{now}}"))
    await cut_off(client, monkeypatch, saved["id"])
    clock.advance(5)

    replay = await deliver(client, "d-1")
    assert replay.status_code == 200, await replay.get_data()
    [dispatch] = (await replay.get_json())["dispatches"]
    assert (dispatch["status"], dispatch.get("error")) == ("succeeded", None), dispatch
    assert len(await inbox_bodies(client, "a1")) == 1


async def test_a_replay_after_a_restart_does_not_run_an_automation_again(
    open_app: Any,
) -> None:
    """After a restart the actor's (event, automation) memory is gone, and the store keeps
    only an automation's newest RELAY_AUTOMATION_DISPATCH_KEEP results: the retry of an
    older delivery finds no kept result and runs the automation again (a second task)."""
    overrides = {"integration_tokens": CI_TOKENS, "automation_dispatch_keep": 1}
    async with open_app(**overrides) as opened:
        client = opened.test_client()
        await automation(client, "file-it", task_titled("build failed"))
        assert (await deliver(client, "d-1")).status_code == 201
        assert (await deliver(client, "d-2")).status_code == 201
        assert await task_titles(client) == ["build failed", "build failed"]
    async with open_app(**overrides) as opened:
        client = opened.test_client()
        replay = await deliver(client, "d-1")
        assert replay.status_code == 200, await replay.get_data()
        assert await task_titles(client) == ["build failed", "build failed"]
