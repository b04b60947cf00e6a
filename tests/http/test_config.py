"""Versioned config routes, black-box through the test client."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from relay.clock import ManualClock
from relay.http.services import Services
from relay.store import config as config_store
from tests.conftest import bearer, root_headers
from tests.http.sse_client import open_stream

H = root_headers()
URL = "/api/config/team/limits"


async def put(client: Any, url: str = URL, headers: dict[str, str] = H, **body: Any) -> Any:
    return await client.put(url, json=body, headers=headers)


async def json_of(response: Any) -> Any:
    return await response.get_json()


async def test_put_creates_then_updates(client: Any, clock: ManualClock) -> None:
    first = await put(client, value={"max": 3})
    assert first.status_code == 201
    assert await json_of(first) == {
        "namespace": "team",
        "key": "limits",
        "version": 1,
        "value": {"max": 3},
        "updatedAt": clock.now_ms(),
        "updatedBy": "root",
    }
    clock.advance(2)
    second = await put(client, value=[1, "two"], updatedBy="alice")
    assert second.status_code == 200
    entry = await json_of(second)
    assert (entry["version"], entry["value"], entry["updatedBy"]) == (2, [1, "two"], "alice")
    assert entry["updatedAt"] == clock.now_ms()
    assert await json_of(await client.get(URL, headers=H)) == entry


@pytest.mark.parametrize("value", ["plain text", "12", "", 12, 1.5, True, False, [], {}, [None]])
async def test_any_json_value_round_trips_with_its_type(client: Any, value: Any) -> None:
    assert (await put(client, value="first")).status_code == 201
    assert (await put(client, value=value)).status_code == 200
    entry = await json_of(await client.get(URL, headers=H))
    assert entry["value"] == value
    assert type(entry["value"]) is type(value)


async def test_expected_version_matching_the_current_one_writes(client: Any) -> None:
    assert (await put(client, value=1, expectedVersion=0)).status_code == 201
    response = await put(client, value=2, expectedVersion=1)
    assert response.status_code == 200
    assert (await json_of(response))["version"] == 2


@pytest.mark.parametrize(
    ("writes", "expected", "current"),
    [
        (0, 1, 0),  # absent counts as version 0
        (1, 0, 1),  # 0 means "must not exist"
        (2, 1, 2),
        (2, 3, 2),
    ],
)
async def test_stale_expected_version_is_409_naming_the_current_one(
    client: Any, writes: int, expected: int, current: int
) -> None:
    for n in range(writes):
        await put(client, value=n)
    response = await put(client, value="late", expectedVersion=expected)
    assert response.status_code == 409
    assert await json_of(response) == {"error": f"version conflict: current version is {current}"}
    if writes:  # nothing was written
        history = await json_of(await client.get(URL + "/history", headers=H))
        assert len(history) == writes
    else:
        assert (await client.get(URL, headers=H)).status_code == 404


async def test_concurrent_writers_get_consecutive_versions(client: Any) -> None:
    statuses: list[int] = []

    async def write(n: int) -> None:
        statuses.append((await put(client, value={"writer": n})).status_code)

    async with trio.open_nursery() as nursery:
        for n in range(20):
            nursery.start_soon(write, n)

    assert sorted(statuses) == [200] * 19 + [201]
    history = await json_of(await client.get(URL + "/history", headers=H))
    assert [revision["version"] for revision in history] == list(range(20, 0, -1))
    assert sorted(revision["value"]["writer"] for revision in history) == list(range(20))
    entry = await json_of(await client.get(URL, headers=H))
    assert entry["version"] == 20
    assert entry["value"] == history[0]["value"]


async def test_concurrent_creators_with_expected_version_zero_one_wins(client: Any) -> None:
    responses: list[Any] = []

    async def create(n: int) -> None:
        responses.append(await put(client, value=n, expectedVersion=0))

    async with trio.open_nursery() as nursery:
        for n in range(10):
            nursery.start_soon(create, n)

    assert sorted(r.status_code for r in responses) == [201] + [409] * 9
    for response in responses:
        if response.status_code == 409:
            assert await json_of(response) == {"error": "version conflict: current version is 1"}


async def test_list_namespace_by_key(client: Any) -> None:
    for key in ("b", "a", "c"):
        await put(client, f"/api/config/team/{key}", value=key)
    await put(client, "/api/config/other/z", value="elsewhere")
    entries = await json_of(await client.get("/api/config/team", headers=H))
    assert [(e["key"], e["value"], e["version"]) for e in entries] == [
        ("a", "a", 1),
        ("b", "b", 1),
        ("c", "c", 1),
    ]
    assert await json_of(await client.get("/api/config/empty", headers=H)) == []


async def test_history_is_newest_first_and_limited(client: Any) -> None:
    for n in range(5):
        await put(client, value=n)
    history = await json_of(await client.get(URL + "/history", headers=H))
    assert [(r["version"], r["value"], r["deleted"]) for r in history] == [
        (5, 4, False),
        (4, 3, False),
        (3, 2, False),
        (2, 1, False),
        (1, 0, False),
    ]
    limited = await json_of(await client.get(URL + "/history?limit=2", headers=H))
    assert [r["version"] for r in limited] == [5, 4]


async def test_delete_then_404_and_history_records_it(client: Any, clock: ManualClock) -> None:
    await put(client, value="x")
    await put(client, value="y")
    clock.advance(1)
    response = await client.delete(URL, headers=H)
    assert response.status_code == 200
    assert await json_of(response) == {
        "ok": True,
        "namespace": "team",
        "key": "limits",
        "version": 3,
    }

    missing = await client.get(URL, headers=H)
    assert missing.status_code == 404
    assert await json_of(missing) == {"error": "config entry not found"}
    assert await json_of(await client.get("/api/config/team", headers=H)) == []

    history = await json_of(await client.get(URL + "/history", headers=H))
    assert history[0] == {
        "namespace": "team",
        "key": "limits",
        "version": 3,
        "value": None,
        "deleted": True,
        "updatedAt": clock.now_ms(),
        "updatedBy": "root",
    }
    assert [r["version"] for r in history] == [3, 2, 1]

    again = await client.delete(URL, headers=H)
    assert again.status_code == 404
    assert await json_of(again) == {"error": "config entry not found"}


async def test_a_deleted_key_comes_back_with_its_versions_continuing(client: Any) -> None:
    await put(client, value="x")
    await client.delete(URL, headers=H)
    stale = await put(client, value="y", expectedVersion=1)
    assert stale.status_code == 409
    assert await json_of(stale) == {"error": "version conflict: current version is 0"}
    response = await put(client, value="y", expectedVersion=0)
    assert response.status_code == 201
    assert (await json_of(response))["version"] == 3


async def test_delete_with_stale_expected_version_is_409(client: Any) -> None:
    await put(client, value="x")
    await put(client, value="y")
    response = await client.delete(URL + "?expectedVersion=1", headers=H)
    assert response.status_code == 409
    assert await json_of(response) == {"error": "version conflict: current version is 2"}
    assert (await client.get(URL, headers=H)).status_code == 200
    assert (await client.delete(URL + "?expectedVersion=2", headers=H)).status_code == 200


async def test_history_of_an_unknown_key_is_404(client: Any) -> None:
    response = await client.get(URL + "/history", headers=H)
    assert response.status_code == 404
    assert await json_of(response) == {"error": "config entry not found"}


async def test_every_committed_write_emits_config_changed(client: Any) -> None:
    async with open_stream(client, {"view": "config"}) as stream:
        await put(client, value=1)
        await put(client, value=2)
        await put(client, value=3, expectedVersion=1)  # refused: nothing committed, no event
        await client.delete(URL, headers=H)
        await put(client, value=4)
        frames = await stream.events(4)
    assert [(frame.event, frame.data) for frame in frames] == [
        ("config-changed", {"namespace": "team", "key": "limits", "version": 1}),
        ("config-changed", {"namespace": "team", "key": "limits", "version": 2}),
        ("config-changed", {"namespace": "team", "key": "limits", "version": 3, "deleted": True}),
        ("config-changed", {"namespace": "team", "key": "limits", "version": 4}),
    ]


LONG_NAMESPACE = "n" * 101
LONG_KEY = "k" * 201
CHARSET = "may only contain letters, digits, '.', '_' and '-'"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (f"/api/config/{LONG_NAMESPACE}/k", "namespace must be at most 100 characters"),
        (f"/api/config/team/{LONG_KEY}", "key must be at most 200 characters"),
        ("/api/config/bad%24ns/k", f"namespace {CHARSET}"),
        ("/api/config/team/a%20b", f"key {CHARSET}"),
        ("/api/config/team/caf%C3%A9", f"key {CHARSET}"),
    ],
)
async def test_bad_names_are_400(client: Any, path: str, message: str) -> None:
    for response in (
        await client.get(path, headers=H),
        await client.put(path, json={"value": 1}, headers=H),
        await client.delete(path, headers=H),
        await client.get(path + "/history", headers=H),
    ):
        assert response.status_code == 400
        assert await json_of(response) == {"error": message}


async def test_bad_namespace_in_list_is_400(client: Any) -> None:
    response = await client.get(f"/api/config/{LONG_NAMESPACE}", headers=H)
    assert response.status_code == 400
    assert await json_of(response) == {"error": "namespace must be at most 100 characters"}


async def test_longest_names_are_accepted(client: Any) -> None:
    url = f"/api/config/{'n' * 100}/{'k' * 200}"
    assert (await client.put(url, json={"value": 1}, headers=H)).status_code == 201
    assert (await client.get(url, headers=H)).status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "value is required"),
        ({"updatedBy": "x"}, "value is required"),
        ({"value": None}, "value must not be null"),
        ({"value": "a\u0000b"}, "value must not contain NUL characters"),
        ({"value": {"k\u0000": 1}}, "value must not contain NUL characters"),
        ({"value": 1, "expectedVersion": -1}, "expectedVersion must be at least 0"),
        ({"value": 1, "expectedVersion": "1"}, "expectedVersion must be an integer"),
        ({"value": 1, "expectedVersion": True}, "expectedVersion must be an integer"),
        ({"value": 1, "updatedBy": ""}, "updatedBy must not be empty"),
        ({"value": 1, "updatedBy": "u" * 201}, "updatedBy must be at most 200 characters"),
        ({"value": 1, "updatedBy": 7}, "updatedBy must be a string"),
    ],
)
async def test_invalid_body_is_400(client: Any, body: dict[str, Any], message: str) -> None:
    response = await client.put(URL, json=body, headers=H)
    assert response.status_code == 400
    assert await json_of(response) == {"error": message}
    assert (await client.get(URL, headers=H)).status_code == 404


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "body required"),
        (b"{nope", "invalid JSON body"),
        (b"[1, 2]", "body required"),
        # Not JSON (RFC 8259): refused by the one decoder, before any field is read.
        (b'{"value": NaN}', "invalid JSON body"),
        (b'{"value": [Infinity]}', "invalid JSON body"),
    ],
)
async def test_unusable_body_is_400(client: Any, raw: bytes, message: str) -> None:
    headers = {**H, "Content-Type": "application/json"}
    response = await client.put(URL, data=raw, headers=headers)
    assert response.status_code == 400
    assert await json_of(response) == {"error": message}


async def test_value_size_limit(client: Any) -> None:
    limit = 256 * 1024
    overhead = len('""')
    at_limit = "x" * (limit - overhead)
    assert (await put(client, value=at_limit)).status_code == 201
    response = await put(client, value=at_limit + "x")
    assert response.status_code == 400
    assert await json_of(response) == {"error": f"value must be at most {limit} bytes"}
    # counted in UTF-8 bytes of the serialized JSON, not characters
    wide = await put(client, value="é" * (limit // 2))
    assert wide.status_code == 400
    assert await json_of(wide) == {"error": f"value must be at most {limit} bytes"}


async def test_read_scope_cannot_write(client: Any, mint: Any) -> None:
    await put(client, value=1)
    reader = bearer(mint(["config:read"]))
    assert (await client.get(URL, headers=reader)).status_code == 200
    assert (await client.get("/api/config/team", headers=reader)).status_code == 200
    assert (await client.get(URL + "/history", headers=reader)).status_code == 200
    for response in (
        await client.put(URL, json={"value": 2}, headers=reader),
        await client.delete(URL, headers=reader),
    ):
        assert response.status_code == 403
        assert await json_of(response) == {"error": "forbidden"}
    assert (await json_of(await client.get(URL, headers=H)))["version"] == 1


async def test_write_scope_writes(client: Any, mint: Any) -> None:
    writer = bearer(mint(["config:write"], sub="deployer"))
    response = await put(client, headers=writer, value=1)
    assert response.status_code == 201
    assert (await json_of(response))["updatedBy"] == "deployer"


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", URL), ("get", "/api/config/team"), ("get", URL + "/history")],
)
async def test_reads_need_config_read(client: Any, mint: Any, method: str, path: str) -> None:
    other = bearer(mint(["agent:read"]))
    response = await getattr(client, method)(path, headers=other)
    assert response.status_code == 403
    assert await json_of(response) == {"error": "forbidden"}
    anonymous = await getattr(client, method)(path)
    assert anonymous.status_code == 401
    assert await json_of(anonymous) == {"error": "unauthorized"}


async def test_spawn_policies_are_served_and_read_by_get_value(
    client: Any, services: Services
) -> None:
    policy = {"provider": "claude", "model": "opus", "providerArgs": ["--verbose"]}
    url = "/api/config/spawn-policies/reviewer"
    assert (await client.put(url, json={"value": policy}, headers=H)).status_code == 201
    store = services.runtime.store
    assert await store.run(lambda: config_store.get_value("spawn-policies", "reviewer")) == policy
    assert await store.run(lambda: config_store.get_value("spawn-policies", "nope")) is None


async def test_policy_names_constraint_limits_spawn_policies(client: Any, mint: Any) -> None:
    for name in ("mine", "theirs"):
        await put(client, f"/api/config/spawn-policies/{name}", value={"provider": "codex"})
    token = bearer(mint(["config:read", "config:write"], {"policyNames": ["mine"]}))
    listed = await json_of(await client.get("/api/config/spawn-policies", headers=token))
    assert [entry["key"] for entry in listed] == ["mine"]
    mine = "/api/config/spawn-policies/mine"
    assert (await put(client, mine, token, value={"provider": "claude"})).status_code == 200
    for response in (
        await client.get("/api/config/spawn-policies/theirs", headers=token),
        await put(client, "/api/config/spawn-policies/theirs", token, value={}),
        await client.delete("/api/config/spawn-policies/theirs", headers=token),
    ):
        assert response.status_code == 403
        assert await json_of(response) == {"error": "forbidden"}
    # the constraint is about policies only
    assert (await put(client, headers=token, value=1)).status_code == 201
