"""Redaction on write and on output, the audit, the rescan job, blocking, and SSE events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from relay.clock import ManualClock
from relay.http.app import create_app
from relay.settings import Settings
from relay.store import memory as memory_store
from tests.actors.memory.test_redaction import CASES
from tests.conftest import bearer, services_of
from tests.http.helpers import H
from tests.http.sse_client import open_stream
from tests.http.test_inbox import run_job
from tests.http.test_memory import created, patch, search
from tests.http.test_messages import agent

GITHUB = "ghp_" + "a" * 36
OPENAI = "sk-" + "Zz9_" * 6
AWS = "AKIAABCDEFGHIJKLMNOP"
TICKET = "TKT-123456"


async def test_a_write_is_stored_redacted_reported_and_audited(app: Any, client: Any) -> None:
    reply = await created(
        client,
        title="password: hunter2hunter2",
        body=f"push with {GITHUB} please",
        tags=["ok", AWS],
        source={"kind": "url", "ref": f"https://x/?k={OPENAI}"},
    )
    assert reply["redactionState"] == "redacted"
    assert reply["redactions"] == [
        {"field": "title", "name": "credential", "count": 1},
        {"field": "body", "name": "github-token", "count": 1},
        {"field": "tags", "name": "aws-access-key", "count": 1},
        {"field": "source.ref", "name": "openai-key", "count": 1},
    ]
    assert reply["body"] == "push with [REDACTED:github-token] please"
    stored = await services_of(app).runtime.store.run(lambda: memory_store.load_memory(reply["id"]))
    assert stored is not None
    raw = json.dumps(stored.to_json())
    for secret in ("hunter2hunter2", GITHUB, AWS, OPENAI):
        assert secret not in raw
        assert (await search(client, f"?q={secret}"))["items"] == []
    feed = await (await client.get("/api/activity?view=security", headers=H)).get_json()
    audits = [e for e in feed if e["title"] == "Memory redacted"]
    assert len(audits) == 1
    assert audits[0]["metadata"]["id"] == reply["id"]
    assert audits[0]["metadata"]["names"] == sorted(
        ["credential", "github-token", "aws-access-key", "openai-key"]
    )
    for secret in ("hunter2hunter2", GITHUB, AWS, OPENAI, "push with"):
        assert secret not in json.dumps(audits[0])
    clean = await created(client, body="nothing to hide")
    assert (clean["redactionState"], clean["redactions"]) == ("clean", [])


async def test_a_patch_is_redacted_too(client: Any) -> None:
    memory = await created(client, body="fine")
    changed = await patch(client, memory["id"], 1, body=f"now {GITHUB}")
    reply = await changed.get_json()
    assert reply["redactions"] == [{"field": "body", "name": "github-token", "count": 1}]
    assert (reply["body"], reply["redactionState"]) == ("now [REDACTED:github-token]", "redacted")


def env_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch, patterns: str) -> Settings:
    """The test's settings, read again from the environment with the patterns set."""
    monkeypatch.setenv("RELAY_MEMORY_REDACT_PATTERNS", patterns)
    return Settings(
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        root_token=settings.root_token,
        secret=settings.secret,
    )


async def test_a_pattern_added_later_redacts_on_output_then_the_job_rewrites(
    settings: Settings, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = create_app(settings, clock=clock)
    async with first.test_app() as app:
        memory = await created(app.test_client(), title="ticket", body=f"see {TICKET} now")
        assert memory["redactionState"] == "clean"
    patterns = '[{"name": "ticket", "pattern": "TKT-[0-9]{6}"}]'
    second = create_app(env_settings(settings, monkeypatch, patterns), clock=clock)
    async with second.test_app() as app:
        client = app.test_client()
        got = await client.get(f"/api/memory/{memory['id']}", headers=H)
        body = await got.get_json()
        assert (body["body"], body["redactionState"]) == ("see [REDACTED:ticket] now", "redacted")
        assert got.headers["ETag"] == '"1"'  # output redaction is not a write
        assert (await search(client, f"?q={TICKET}"))["items"] == []
        listed = (await search(client, "?q=ticket"))["items"]
        assert [item["body"] for item in listed] == ["see [REDACTED:ticket] now"]
        assert await run_job(client, "memory-rescan") == {"scanned": 1, "redacted": 1}
        stored = await services_of(app).runtime.store.run(
            lambda: memory_store.load_memory(memory["id"])
        )
        assert stored is not None
        assert (stored.body, stored.version, stored.redaction_state) == (
            "see [REDACTED:ticket] now",
            2,
            "redacted",
        )
        assert await run_job(client, "memory-rescan") == {"scanned": 1, "redacted": 0}
        feed = await (await client.get("/api/activity?view=security", headers=H)).get_json()
        assert [e["metadata"]["names"] for e in feed] == [["ticket"]]


async def test_blocking_and_lifting(client: Any) -> None:
    plain = await created(client, body="plain")
    marked = await created(client, body=f"key {GITHUB}")
    for memory, lifted in ((plain, "clean"), (marked, "redacted")):
        blocked = await (await patch(client, memory["id"], 1, redactionState="blocked")).get_json()
        assert blocked["redactionState"] == "blocked"
        # An ordinary edit leaves it quarantined.
        edited = await (await patch(client, memory["id"], 2, confidence="low")).get_json()
        assert edited["redactionState"] == "blocked"
        back = await (await patch(client, memory["id"], 3, redactionState="clean")).get_json()
        assert (back["redactionState"], back["version"]) == (lifted, 4)


async def test_memory_events_leave_out_the_body_and_a_secret_title(client: Any) -> None:
    async with open_stream(client, {"view": "memory"}) as stream:
        plain = await created(client, title="plain title", body="plain body")
        secret = await created(client, title="secret title", body="b", sensitivity="secret")
        await patch(client, plain["id"], 1, body=f"x {GITHUB}")
        await client.delete(f"/api/memory/{secret['id']}", headers=H)
        frames = [f for f in await stream.events(4) if f.event == "memory"]
    assert [(f.data["change"], f.data["memory"]["id"]) for f in frames] == [
        ("created", plain["id"]),
        ("created", secret["id"]),
        ("updated", plain["id"]),
        ("deleted", secret["id"]),
    ]
    for frame in frames:
        assert "body" not in frame.data["memory"]
        assert GITHUB not in json.dumps(frame.data)
    assert frames[0].data["memory"]["title"] == "plain title"
    assert frames[1].data["memory"]["title"] is None
    assert frames[1].data["memory"]["withheld"] is True
    assert "secret title" not in json.dumps([f.data for f in frames])


@pytest.mark.parametrize("name", list(CASES))
async def test_each_pattern_on_write_over_http(client: Any, name: str) -> None:
    hit, miss = CASES[name]
    redacted = await created(client, body=hit)
    assert redacted["redactions"] == [{"field": "body", "name": name, "count": 1}]
    assert f"[REDACTED:{name}]" in redacted["body"]
    clean = await created(client, body=miss)
    assert (clean["body"], clean["redactionState"], clean["redactions"]) == (miss, "clean", [])


async def test_memory_events_hide_private_and_blocked_and_need_memory_read(
    client: Any, mint: Any
) -> None:
    """An operator's stream carries private and blocked memories' events (operators see
    all; never a body); a caller without ``memory:read`` gets no memory event at all.
    Who else receives which is tests/http/test_memory_events.py."""
    watcher = bearer(mint(["activity:read"], sub="watcher", role="integration"))
    async with (
        open_stream(client, {"view": "memory"}) as stream,
        open_stream(client, headers=watcher) as blind,
    ):
        hidden = await created(
            client,
            scope="repo",
            scopeKey="/srv/two",
            title="PRIVATE t",
            visibility="private",
            tags=["deploy-key"],
        )
        plain = await created(client, title="plain t")
        await patch(client, plain["id"], 1, redactionState="blocked")
        frames = [f for f in await stream.events(3) if f.event == "memory"]
        await agent(client, "marker")
        first = await blind.next_event()
    assert [(f.data["change"], f.data["memory"]["id"]) for f in frames] == [
        ("created", hidden["id"]),
        ("created", plain["id"]),
        ("updated", plain["id"]),
    ]
    for frame in frames:
        assert "body" not in frame.data["memory"]
    assert frames[0].data["memory"]["title"] == "PRIVATE t"
    assert frames[0].data["memory"]["visibility"] == "private"
    assert frames[2].data["memory"]["redactionState"] == "blocked"
    assert frames[1].data["memory"]["title"] == "plain t"
    assert first.event != "memory"
    assert "marker" in json.dumps(first.data)
