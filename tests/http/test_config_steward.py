"""Steward config: one global entry (config ``steward/global``), written whole."""

from __future__ import annotations

from typing import Any

import pytest

from relay.clock import ManualClock
from tests.conftest import bearer, root_headers
from tests.http.sse_client import open_stream

H = root_headers()
URL = "/api/steward-config"


async def json_of(response: Any) -> Any:
    return await response.get_json()


async def test_empty_default_before_any_write(client: Any) -> None:
    response = await client.get(URL, headers=H)
    assert response.status_code == 200
    assert await json_of(response) == {
        "namespace": "steward",
        "key": "global",
        "version": 0,
        "value": {},
        "updatedAt": None,
        "updatedBy": None,
    }


async def test_body_is_the_value_then_201(client: Any, clock: ManualClock) -> None:
    config = {"autoMerge": {"enabled": True, "repos": ["/srv/app"]}}
    response = await client.put(URL, json=config, headers=H)
    assert response.status_code == 201
    entry = {
        "namespace": "steward",
        "key": "global",
        "version": 1,
        "value": config,
        "updatedAt": clock.now_ms(),
        "updatedBy": "root",
    }
    assert await json_of(response) == entry
    assert await json_of(await client.get(URL, headers=H)) == entry


async def test_wrapped_value_with_updated_by_then_200(client: Any) -> None:
    await client.put(URL, json={"autoMerge": False}, headers=H)
    response = await client.put(
        URL, json={"value": {"autoMerge": True}, "updatedBy": "  ops  "}, headers=H
    )
    assert response.status_code == 200
    entry = await json_of(response)
    assert (entry["version"], entry["value"], entry["updatedBy"]) == (2, {"autoMerge": True}, "ops")


async def test_updated_by_without_value_stays_in_the_value(client: Any) -> None:
    # Like the reference: no "value" field means the whole body is the value.
    response = await client.put(URL, json={"autoMerge": True, "updatedBy": "ops"}, headers=H)
    entry = await json_of(response)
    assert entry["value"] == {"autoMerge": True, "updatedBy": "ops"}
    assert entry["updatedBy"] == "ops"


async def test_blank_updated_by_falls_back_to_the_caller(client: Any, mint: Any) -> None:
    token = bearer(mint(["config:write"], sub="steward-bot"))
    response = await client.put(URL, json={"value": {}, "updatedBy": "   "}, headers=token)
    assert (await json_of(response))["updatedBy"] == "steward-bot"


async def test_updated_by_of_200_characters_is_accepted(client: Any) -> None:
    response = await client.put(URL, json={"value": {}, "updatedBy": "u" * 200}, headers=H)
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"value": {}, "updatedBy": "u" * 201}, "updatedBy must be at most 200 characters"),
        ({"a": 1, "updatedBy": "u" * 201}, "updatedBy must be at most 200 characters"),
        ({"value": {}, "updatedBy": 5}, "updatedBy must be a string"),
        ({"value": [1, 2]}, "value must be an object"),
        ({"value": None}, "value must be an object"),
        ({"value": "on"}, "value must be an object"),
        ([1, 2], "value must be an object"),
        ("on", "value must be an object"),
        ({"value": {"k": "a\u0000"}}, "value must not contain NUL characters"),
        ({"big": "x" * (256 * 1024)}, f"value must be at most {256 * 1024} bytes"),
    ],
)
async def test_invalid_put_is_400(client: Any, body: Any, message: str) -> None:
    response = await client.put(URL, json=body, headers=H)
    assert response.status_code == 400
    assert await json_of(response) == {"error": message}
    assert (await json_of(await client.get(URL, headers=H)))["version"] == 0


@pytest.mark.parametrize(
    ("raw", "message"), [(b"", "body required"), (b"{oops", "invalid JSON body")]
)
async def test_unusable_body_is_400(client: Any, raw: bytes, message: str) -> None:
    response = await client.put(URL, data=raw, headers={**H, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert await json_of(response) == {"error": message}


async def test_each_write_emits_config_changed(client: Any) -> None:
    async with open_stream(client, {"view": "config"}) as stream:
        await client.put(URL, json={"a": 1}, headers=H)
        await client.put(URL, json={"value": {"a": 2}}, headers=H)
        frames = await stream.events(4)  # and an audit event after each
    changes = [frame.data for frame in frames if frame.event == "config-changed"]
    assert changes == [
        {"namespace": "steward", "key": "global", "version": 1},
        {"namespace": "steward", "key": "global", "version": 2},
    ]
    assert [frame.event for frame in frames].count("activity") == 2


async def test_each_write_is_audited(client: Any, clock: ManualClock) -> None:
    await client.put(URL, json={"value": {"a": 1}, "updatedBy": "ops"}, headers=H)
    events = await json_of(await client.get("/api/activity?view=config", headers=H))
    assert len(events) == 1
    event = events[0]
    assert event["kind"] == "config"
    assert event["view"] == "config"
    assert event["title"] == "Steward config updated"
    assert event["metadata"] == {
        "namespace": "steward",
        "key": "global",
        "version": 1,
        "updatedBy": "ops",
    }
    assert event["createdAt"] == clock.now_ms()


async def test_steward_config_is_a_versioned_config_entry(client: Any) -> None:
    await client.put(URL, json={"a": 1}, headers=H)
    await client.put(URL, json={"a": 2}, headers=H)
    entry = await json_of(await client.get("/api/config/steward/global", headers=H))
    assert (entry["version"], entry["value"]) == (2, {"a": 2})
    history = await json_of(await client.get("/api/config/steward/global/history", headers=H))
    assert [(r["version"], r["value"]) for r in history] == [(2, {"a": 2}), (1, {"a": 1})]


async def test_read_scope_reads_but_cannot_write(client: Any, mint: Any) -> None:
    reader = bearer(mint(["config:read"]))
    assert (await client.get(URL, headers=reader)).status_code == 200
    response = await client.put(URL, json={"a": 1}, headers=reader)
    assert response.status_code == 403
    assert await json_of(response) == {"error": "forbidden"}
    other = await client.get(URL, headers=bearer(mint(["agent:read"])))
    assert other.status_code == 403
    assert await json_of(other) == {"error": "forbidden"}


async def test_a_write_through_the_config_route_is_audited_alike(client: Any) -> None:
    # The dashboard's editor saves the entry with PUT /api/config/steward/global (for its
    # expectedVersion): the same audit row as this route's.
    await client.put(URL, json={"a": 1}, headers=H)
    response = await client.put(
        "/api/config/steward/global", json={"value": {"a": 2}, "expectedVersion": 1}, headers=H
    )
    assert response.status_code == 200, await response.get_data()
    events = await json_of(await client.get("/api/activity?view=config", headers=H))
    assert [(e["title"], e["metadata"]["version"]) for e in events] == [
        ("Steward config updated", 2),
        ("Steward config updated", 1),
    ]


@pytest.mark.parametrize("value", [[1], "text", 3, None])
async def test_the_config_route_refuses_a_steward_value_that_is_no_object(
    client: Any, value: Any
) -> None:
    response = await client.put("/api/config/steward/global", json={"value": value}, headers=H)
    assert (response.status_code, await json_of(response)) == (
        400,
        {"error": "value must be an object"},
    )
    entry = await client.get("/api/config/steward/global", headers=H)
    assert entry.status_code == 404


async def test_deleting_the_entry_is_audited(client: Any) -> None:
    await client.put(URL, json={"a": 1}, headers=H)
    response = await client.delete("/api/config/steward/global", headers=H)
    assert response.status_code == 200, await response.get_data()
    events = await json_of(await client.get("/api/activity?view=config", headers=H))
    assert [(e["title"], e["metadata"]["version"]) for e in events] == [
        ("Steward config deleted", 2),
        ("Steward config updated", 1),
    ]
