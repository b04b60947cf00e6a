"""Memory at its edges: odd If-Match bytes, existence behind 403, path limits, leading
slashes, booleans as versions, stored counters in replies, redaction on replay."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import ROOT, bearer
from tests.http.helpers import H
from tests.http.test_mcp import call_tool, mcp_token, register
from tests.http.test_memory import MEMORY_SCOPES, created, patch, people, search  # noqa: F401
from tests.http.test_messages import agent, error_of


def _raw_headers(*extra: tuple[bytes, bytes], body: bytes | None = None) -> list[Any]:
    """Headers as bytes on the wire (a real client may send any latin-1 byte)."""
    headers = [(b"authorization", f"Bearer {ROOT}".encode())]
    if body is not None:
        headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
    return [*headers, *extra]


async def test_if_match_with_a_non_ascii_digit_is_400_and_changes_nothing(client: Any) -> None:
    """``If-Match: "²"`` (byte 0xB2): ``str.isdigit`` says yes, ``int`` says no. Every bad
    input is a JSON 4xx (api.md), never ``internal error``."""
    memory = await created(client, title="keep")
    body = json.dumps({"title": "changed"}).encode()
    for value in (b'"\xb2"', b"\xb9", b'W/"\xb3"'):
        patched = await client.patch(
            f"/api/memory/{memory['id']}",
            data=body,
            scope_base={"headers": _raw_headers((b"if-match", value), body=body)},
        )
        assert await error_of(patched) == (400, 'If-Match must be "<version>" or *'), value
        deleted = await client.delete(
            f"/api/memory/{memory['id']}",
            scope_base={"headers": _raw_headers((b"if-match", value))},
        )
        assert await error_of(deleted) == (400, 'If-Match must be "<version>" or *'), value
    got = await client.get(f"/api/memory/{memory['id']}", headers=H)
    assert ((await got.get_json())["title"], got.headers["ETag"]) == ("keep", '"1"')


async def test_a_caller_acting_for_no_agent_gets_403_for_an_unknown_memory_too(
    client: Any, mint: Any
) -> None:
    """ "one acting for none → 403 on every route here": GET of an id that does not exist
    must not answer 404 where an existing one answers 403 (an existence oracle)."""
    existing = await created(client)
    nobody = bearer(mint(MEMORY_SCOPES, sub="ci", role="provider"))
    known = await client.get(f"/api/memory/{existing['id']}", headers=nobody)
    assert await error_of(known) == (403, "forbidden")
    unknown = await client.get("/api/memory/mem_" + "0" * 32, headers=nobody)
    assert await error_of(unknown) == (403, "forbidden")


async def test_a_dashboard_token_limited_by_path_sees_what_its_agents_see(
    client: Any, mint: Any
) -> None:
    """A dashboard token limited to ``cwd: [/srv/one]`` acts for a1 (working there): the
    broker serves it a1's memories, so the routes must let it read them too ("a caller
    sees what the agents it acts for see"), and still not /srv/two's."""
    await agent(client, "a1", meta={"cwd": "/srv/one"})
    await agent(client, "a3", meta={"cwd": "/srv/two"})
    own = await created(client, scope="agent", scopeKey="a1", title="a1 note")
    repo = await created(client, scope="repo", scopeKey="/srv/one", title="one note")
    other = await created(client, scope="repo", scopeKey="/srv/two", title="two note")
    dash = bearer(mint(MEMORY_SCOPES, {"cwd": ["/srv/one"]}, sub="ops", role="dashboard"))
    served = await client.post("/api/memory/broker", json={"agentId": "a1"}, headers=dash)
    assert served.status_code == 200
    assert own["id"] in [item["id"] for item in (await served.get_json())["items"]]
    got = await client.get(f"/api/memory/{own['id']}", headers=dash)
    assert got.status_code == 200, await got.get_data()
    listed = {item["id"] for item in (await search(client, "", dash))["items"]}
    assert {own["id"], repo["id"]} <= listed
    assert other["id"] not in listed


async def test_a_repo_scope_key_with_two_leading_slashes_is_normalised(
    client: Any,
    people: Any,  # noqa: F811
) -> None:
    """``//srv/one`` is ``/srv/one`` (POSIX ``normpath`` keeps a leading ``//``): stored
    as given, A (limited to /srv/one) is refused its own repo, and the memory is a repo
    of its own that no /srv/one search, cwd limit or broker root matches."""
    reply = await created(client, people["A"], scope="repo", scopeKey="//srv/one")
    assert reply["scopeKey"] == "/srv/one"


async def test_mcp_memory_write_refuses_a_boolean_version(client: Any) -> None:
    """``version`` is the If-Match of the update: ``true`` is no version, so the update is
    refused and nothing changes (bodies take booleans only where a boolean is meant, and a
    boolean never where a number is)."""
    await register(client, "a1")
    token = await mcp_token(client, "a1")
    memory = await created(client, scope="agent", scopeKey="a1", title="keep")
    reply = await call_tool(
        client, token, "memory_write", id=memory["id"], version=True, title="changed"
    )
    assert reply["result"]["isError"] is True, reply
    got = await client.get(f"/api/memory/{memory['id']}", headers=H)
    assert ((await got.get_json())["title"], got.headers["ETag"]) == ("keep", '"1"')


async def test_a_patch_reply_carries_the_stored_serve_count(client: Any) -> None:
    """A reply carrying one memory carries it as stored: serving is not undone by the
    next update's reply (nor its SSE event)."""
    await agent(client, "a1")
    memory = await created(client, scope="agent", scopeKey="a1", title="note")
    served = await client.post("/api/memory/broker", json={"agentId": "a1"}, headers=H)
    assert [item["id"] for item in (await served.get_json())["items"]] == [memory["id"]]
    stored = await (await client.get(f"/api/memory/{memory['id']}", headers=H)).get_json()
    assert stored["serveCount"] == 1
    reply = await (await patch(client, memory["id"], 1, title="note 2")).get_json()
    assert (reply["serveCount"], reply["lastServedAt"]) == (1, stored["lastServedAt"])


async def test_a_replayed_memory_event_is_redacted_by_the_current_list(
    settings: Any, clock: Any, monkeypatch: Any
) -> None:
    """ "On output (GET, search, broker, MCP, SSE) the current list is applied again": an
    event stored before a pattern was added must not replay the text GET now hides."""
    from relay.http.app import create_app
    from tests.http.sse_client import open_stream
    from tests.http.test_memory_redaction import env_settings

    ticket = "TKT-123456"
    first = create_app(settings, clock=clock)
    async with first.test_app() as app:
        memory = await created(app.test_client(), title=f"ticket {ticket}", tags=[ticket], body="b")
    patterns = '[{"name": "ticket", "pattern": "TKT-[0-9]{6}"}]'
    second = create_app(env_settings(settings, monkeypatch, patterns), clock=clock)
    async with second.test_app() as app:
        client = app.test_client()
        got = await (await client.get(f"/api/memory/{memory['id']}", headers=H)).get_json()
        assert got["title"] == "ticket [REDACTED:ticket]"
        async with open_stream(client, {"lastEventId": "0", "view": "memory"}) as stream:
            while True:
                frame = await stream.next_event()
                if frame.event == "memory":
                    break
        shown = frame.data["memory"]
        assert shown["id"] == memory["id"]
        assert ticket not in json.dumps(shown)
        assert shown["title"] == "ticket [REDACTED:ticket]"
