"""Agent profiles: validated spawn presets kept in config namespace ``agent-profiles``."""

from __future__ import annotations

from typing import Any

import pytest

from relay.clock import ManualClock
from tests.conftest import bearer, root_headers

H = root_headers()
URL = "/api/agent-profiles/reviewer"

FULL = {
    "provider": "claude",
    "model": "opus",
    "effort": "high",
    "providerArgs": ["--verbose", "--max-turns", "5"],
    "approval": "guarded",
    "workspaceMode": "isolated",
    "label": "Reviewer",
    "description": "Reviews pull requests",
}


async def json_of(response: Any) -> Any:
    return await response.get_json()


async def test_put_creates_then_updates(client: Any, clock: ManualClock) -> None:
    created = await client.put(URL, json=FULL, headers=H)
    assert created.status_code == 201
    profile = {
        **FULL,
        "name": "reviewer",
        "version": 1,
        "updatedAt": clock.now_ms(),
        "updatedBy": "root",
    }
    assert await json_of(created) == profile
    assert await json_of(await client.get(URL, headers=H)) == profile

    updated = await client.put(URL, json={"provider": "codex", "effort": "xhigh"}, headers=H)
    assert updated.status_code == 200
    assert await json_of(updated) == {
        "provider": "codex",
        "effort": "xhigh",
        "name": "reviewer",
        "version": 2,
        "updatedAt": clock.now_ms(),
        "updatedBy": "root",
    }


async def test_unknown_fields_are_not_stored(client: Any) -> None:
    body = {"provider": "codex", "name": "other", "version": 9, "colour": "red"}
    profile = await json_of(await client.put(URL, json=body, headers=H))
    assert (profile["name"], profile["version"]) == ("reviewer", 1)
    assert "colour" not in profile
    entry = await json_of(await client.get("/api/config/agent-profiles/reviewer", headers=H))
    assert entry["value"] == {"provider": "codex"}


async def test_list_by_name(client: Any) -> None:
    for name, provider in (("writer", "codex"), ("auditor", "claude")):
        await client.put(f"/api/agent-profiles/{name}", json={"provider": provider}, headers=H)
    listed = await json_of(await client.get("/api/agent-profiles", headers=H))
    assert [(p["name"], p["provider"]) for p in listed] == [
        ("auditor", "claude"),
        ("writer", "codex"),
    ]


async def test_empty_list(client: Any) -> None:
    assert await json_of(await client.get("/api/agent-profiles", headers=H)) == []


async def test_delete_then_404(client: Any) -> None:
    await client.put(URL, json={"provider": "claude"}, headers=H)
    response = await client.delete(URL, headers=H)
    assert response.status_code == 200
    assert await json_of(response) == {"ok": True, "name": "reviewer"}
    assert await json_of(await client.get("/api/agent-profiles", headers=H)) == []
    history = await json_of(
        await client.get("/api/config/agent-profiles/reviewer/history", headers=H)
    )
    assert [(r["version"], r["deleted"]) for r in history] == [(2, True), (1, False)]


@pytest.mark.parametrize("method", ["get", "delete"])
async def test_unknown_profile_is_404(client: Any, method: str) -> None:
    response = await getattr(client, method)("/api/agent-profiles/nope", headers=H)
    assert response.status_code == 404
    assert await json_of(response) == {"error": "agent profile not found"}


async def test_a_non_object_entry_is_not_a_profile(client: Any) -> None:
    await client.put("/api/config/agent-profiles/junk", json={"value": "text"}, headers=H)
    await client.put(
        "/api/config/agent-profiles/real", json={"value": {"provider": "x"}}, headers=H
    )
    listed = await json_of(await client.get("/api/agent-profiles", headers=H))
    assert [p["name"] for p in listed] == ["real"]
    response = await client.get("/api/agent-profiles/junk", headers=H)
    assert response.status_code == 404
    assert await json_of(response) == {"error": "agent profile not found"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "provider is required"),
        ({"provider": "gpt"}, "provider must be one of claude, codex"),
        ({"provider": None}, "provider must be one of claude, codex"),
        ({"provider": "claude", "model": ""}, "model must not be empty"),
        ({"provider": "claude", "model": "m" * 201}, "model must be at most 200 characters"),
        ({"provider": "claude", "model": 4}, "model must be a string"),
        (
            {"provider": "claude", "effort": "huge"},
            "effort must be one of low, medium, high, xhigh, max",
        ),
        ({"provider": "claude", "providerArgs": "--verbose"}, "providerArgs must be an array"),
        ({"provider": "claude", "providerArgs": ["--x", 1]}, "providerArgs.1 must be a string"),
        (
            {"provider": "claude", "providerArgs": ["a"] * 101},
            "providerArgs must have at most 100 items",
        ),
        (
            {"provider": "claude", "providerArgs": ["a" * 4097]},
            "providerArgs.0 must be at most 4096 characters",
        ),
        (
            {"provider": "codex", "approval": "closed"},
            "approval must be one of open, guarded, read-only",
        ),
        (
            {"provider": "codex", "workspaceMode": "copy"},
            "workspaceMode must be one of isolated, shared, inherit",
        ),
        ({"provider": "codex", "label": "l" * 201}, "label must be at most 200 characters"),
        (
            {"provider": "codex", "description": "d" * 2001},
            "description must be at most 2000 characters",
        ),
    ],
)
async def test_invalid_profile_is_400(client: Any, body: dict[str, Any], message: str) -> None:
    response = await client.put(URL, json=body, headers=H)
    assert response.status_code == 400
    assert await json_of(response) == {"error": message}
    assert (await client.get(URL, headers=H)).status_code == 404


@pytest.mark.parametrize(
    ("raw", "message"),
    [(b"", "body required"), (b"{oops", "invalid JSON body"), (b'["claude"]', "body required")],
)
async def test_unusable_body_is_400(client: Any, raw: bytes, message: str) -> None:
    response = await client.put(URL, data=raw, headers={**H, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert await json_of(response) == {"error": message}


CHARSET = "name may only contain letters, digits, '.', '_' and '-'"


@pytest.mark.parametrize(
    ("name", "message"),
    [("a%20b", CHARSET), ("a%24", CHARSET), ("n" * 201, "name must be at most 200 characters")],
)
async def test_bad_name_is_400(client: Any, name: str, message: str) -> None:
    url = f"/api/agent-profiles/{name}"
    for response in (
        await client.get(url, headers=H),
        await client.put(url, json={"provider": "claude"}, headers=H),
        await client.delete(url, headers=H),
    ):
        assert response.status_code == 400
        assert await json_of(response) == {"error": message}


async def test_read_scope_cannot_write(client: Any, mint: Any) -> None:
    await client.put(URL, json={"provider": "claude"}, headers=H)
    reader = bearer(mint(["config:read"]))
    assert (await client.get(URL, headers=reader)).status_code == 200
    assert (await client.get("/api/agent-profiles", headers=reader)).status_code == 200
    for response in (
        await client.put(URL, json={"provider": "codex"}, headers=reader),
        await client.delete(URL, headers=reader),
    ):
        assert response.status_code == 403
        assert await json_of(response) == {"error": "forbidden"}
    assert (await json_of(await client.get(URL, headers=H)))["provider"] == "claude"


async def test_writer_is_recorded(client: Any, mint: Any) -> None:
    writer = bearer(mint(["config:write"], sub="dashboard"))
    response = await client.put(URL, json={"provider": "claude"}, headers=writer)
    assert (await json_of(response))["updatedBy"] == "dashboard"


async def test_reads_need_config_read(client: Any, mint: Any) -> None:
    response = await client.get("/api/agent-profiles", headers=bearer(mint(["agent:read"])))
    assert response.status_code == 403
    assert await json_of(response) == {"error": "forbidden"}


async def test_stale_expected_version_is_409_and_changes_nothing(client: Any) -> None:
    created = await client.put(URL, json={"provider": "claude", "expectedVersion": 0}, headers=H)
    assert created.status_code == 201
    assert "expectedVersion" not in await json_of(created)
    updated = await client.put(URL, json={"provider": "codex", "expectedVersion": 1}, headers=H)
    assert (await json_of(updated))["version"] == 2
    for expected in (1, 0):
        stale = await client.put(
            URL, json={"provider": "claude", "expectedVersion": expected}, headers=H
        )
        assert stale.status_code == 409
        assert await json_of(stale) == {"error": "version conflict: current version is 2"}
    profile = await json_of(await client.get(URL, headers=H))
    assert (profile["provider"], profile["version"]) == ("codex", 2)
    entry = await json_of(await client.get("/api/config/agent-profiles/reviewer", headers=H))
    assert entry["value"] == {"provider": "codex"}


@pytest.mark.parametrize(
    ("expected", "message"),
    [
        (-1, "expectedVersion must be at least 0"),
        ("1", "expectedVersion must be an integer"),
    ],
)
async def test_invalid_expected_version_is_400(client: Any, expected: Any, message: str) -> None:
    response = await client.put(
        URL, json={"provider": "claude", "expectedVersion": expected}, headers=H
    )
    assert response.status_code == 400
    assert await json_of(response) == {"error": message}
    assert (await client.get(URL, headers=H)).status_code == 404
