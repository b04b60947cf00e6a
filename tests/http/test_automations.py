"""Automations over HTTP: save, read, change, delete, and every refusal (spec tasks.md,
"Automations")."""

from __future__ import annotations

from typing import Any

import pytest

from relay.clock import ManualClock
from relay.errors import Unavailable
from relay.store import automations as automation_store
from tests.conftest import bearer
from tests.http.helpers import H

MESSAGE = {"type": "post_message", "to": "a1", "body": "hello"}
EVENT = {"type": "event", "eventType": "build.*"}
SPAWN = {"type": "spawn_agent", "orchestratorId": "o1", "policyName": "reviewer"}


async def save(client: Any, headers: Any = None, **fields: Any) -> Any:
    body = {"name": "notify", "trigger": EVENT, "action": MESSAGE, **fields}
    return await client.post("/api/automations", json=body, headers=headers or H)


async def saved(client: Any, **fields: Any) -> dict[str, Any]:
    response = await save(client, **fields)
    assert response.status_code == 201, await response.get_data()
    body: dict[str, Any] = await response.get_json()
    return body


async def error_of(response: Any) -> tuple[int, str]:
    return response.status_code, (await response.get_json())["error"]


async def test_an_automation_is_saved_with_its_defaults(client: Any, clock: ManualClock) -> None:
    automation = await saved(client, trigger={**EVENT, "filter": {"payload.branch": "main"}})
    assert automation["id"].startswith("au_")
    assert automation == {
        "id": automation["id"],
        "name": "notify",
        "enabled": True,
        "trigger": {"type": "event", "eventType": "build.*", "filter": {"payload.branch": "main"}},
        "action": {"type": "post_message", "to": "a1", "body": "hello"},
        "maxPerHour": 60,
        "version": 1,
        "nextRunAt": None,
        "createdBy": "root",
        "createdAt": clock.now_ms(),
        "updatedAt": clock.now_ms(),
    }
    response = await client.get(f"/api/automations/{automation['id']}", headers=H)
    assert await response.get_json() == automation
    assert await (await client.get("/api/automations", headers=H)).get_json() == [automation]


async def test_a_schedule_first_runs_one_period_after_saving(
    client: Any, clock: ManualClock
) -> None:
    automation = await saved(client, trigger={"type": "schedule", "everySeconds": 300})
    assert automation["trigger"] == {"type": "schedule", "everySeconds": 300}
    assert automation["nextRunAt"] == clock.now_ms() + 300_000


async def test_the_list_is_by_name(client: Any) -> None:
    await saved(client, name="b")
    await saved(client, name="a")
    listed = await (await client.get("/api/automations", headers=H)).get_json()
    assert [a["name"] for a in listed] == ["a", "b"]


async def test_a_name_is_unique(client: Any) -> None:
    await saved(client)
    assert await error_of(await save(client)) == (409, "automation name already exists")
    other = await saved(client, name="other")
    response = await client.patch(
        f"/api/automations/{other['id']}", json={"name": "notify"}, headers=H
    )
    assert await error_of(response) == (409, "automation name already exists")


async def test_patch_changes_fields_and_counts_versions(client: Any, clock: ManualClock) -> None:
    automation = await saved(client)
    clock.advance(5)
    url = f"/api/automations/{automation['id']}"
    response = await client.patch(
        url,
        json={
            "enabled": False,
            "maxPerHour": 5,
            "trigger": {"type": "schedule", "everySeconds": 60},
        },
        headers=H,
    )
    assert response.status_code == 200
    changed = await response.get_json()
    assert changed["enabled"] is False
    assert changed["maxPerHour"] == 5
    assert changed["version"] == 2
    assert changed["nextRunAt"] == clock.now_ms() + 60_000
    assert changed["updatedAt"] == clock.now_ms()
    assert changed["name"] == "notify"
    stale = await client.patch(url, json={"name": "late", "version": 1}, headers=H)
    assert await error_of(stale) == (409, "version conflict: current version is 2")
    assert (await (await client.get(url, headers=H)).get_json())["name"] == "notify"
    current = await client.patch(url, json={"name": "renamed", "version": 2}, headers=H)
    assert (await current.get_json())["version"] == 3


async def test_delete_removes_it(client: Any) -> None:
    automation = await saved(client)
    url = f"/api/automations/{automation['id']}"
    response = await client.delete(url, headers=H)
    assert response.status_code == 200
    assert (await response.get_json())["id"] == automation["id"]
    assert await error_of(await client.get(url, headers=H)) == (404, "automation not found")
    assert await error_of(await client.delete(url, headers=H)) == (404, "automation not found")
    # The name is free again.
    assert (await save(client)).status_code == 201


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/automations/au_missing"),
        ("patch", "/api/automations/au_missing"),
        ("delete", "/api/automations/au_missing"),
        ("post", "/api/automations/au_missing/run"),
        ("get", "/api/automations/au_missing/dispatches"),
    ],
)
async def test_an_unknown_automation_is_404(client: Any, method: str, path: str) -> None:
    kwargs: dict[str, Any] = {"headers": H}
    if method == "patch":
        kwargs["json"] = {"enabled": False}
    response = await getattr(client, method)(path, **kwargs)
    assert await error_of(response) == (404, "automation not found")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "name must not be empty"),
        ({"name": "x" * 101}, "name must be at most 100 characters"),
        ({"maxPerHour": 0}, "maxPerHour must be at least 1"),
        ({"maxPerHour": 1001}, "maxPerHour must be at most 1000"),
        ({"enabled": "yes"}, "enabled must be a boolean"),
        ({"trigger": {"type": "cron"}}, "trigger.type must be one of event, schedule"),
        ({"trigger": {"type": "event"}}, "trigger.eventType is required"),
        ({"trigger": {"type": "schedule"}}, "trigger.everySeconds is required"),
        (
            {"trigger": {"type": "schedule", "everySeconds": 59}},
            "trigger.everySeconds must be at least 60",
        ),
        (
            {"trigger": {"type": "schedule", "everySeconds": 604_801}},
            "trigger.everySeconds must be at most 604800",
        ),
        (
            {"trigger": {**EVENT, "filter": {f"k{i}": i for i in range(21)}}},
            "trigger.filter must have at most 20 entries",
        ),
        (
            {"action": {"type": "email"}},
            "action.type must be one of create_task, post_message, spawn_agent",
        ),
        ({"action": {"type": "create_task"}}, "action.task is required"),
        ({"action": {"type": "create_task", "task": {}}}, "action.task.title is required"),
        (
            {"action": {"type": "post_message", "body": "x"}},
            "exactly one of action.to, action.channelId is required",
        ),
        (
            {"action": {"type": "post_message", "to": "a1", "channelId": "c", "body": "x"}},
            "exactly one of action.to, action.channelId is required",
        ),
        ({"action": {"type": "post_message", "to": "a1"}}, "action.body is required"),
        (
            {"action": {"type": "post_message", "to": "a1", "body": "x", "importance": "max"}},
            "action.importance must be one of low, normal, high, urgent",
        ),
        (
            {"action": {"type": "spawn_agent", "policyName": "p"}},
            "action.orchestratorId is required",
        ),
        (
            {"action": {"type": "spawn_agent", "orchestratorId": "o1"}},
            "action.policyName is required",
        ),
        ({"trigger": None}, "trigger is required"),
    ],
)
async def test_a_bad_body_is_400_and_saves_nothing(
    client: Any, fields: dict[str, Any], message: str
) -> None:
    body = {"name": "notify", "trigger": EVENT, "action": MESSAGE, **fields}
    body = {k: v for k, v in body.items() if v is not None}
    response = await client.post("/api/automations", json=body, headers=H)
    assert await error_of(response) == (400, message)
    assert await (await client.get("/api/automations", headers=H)).get_json() == []


async def test_a_bad_patch_is_400_and_changes_nothing(client: Any) -> None:
    automation = await saved(client)
    url = f"/api/automations/{automation['id']}"
    response = await client.patch(url, json={"version": 0}, headers=H)
    assert await error_of(response) == (400, "version must be at least 1")
    response = await client.patch(url, json={"action": {"type": "create_task"}}, headers=H)
    assert await error_of(response) == (400, "action.task is required")
    assert await (await client.get(url, headers=H)).get_json() == automation


async def test_without_a_token_is_401(client: Any) -> None:
    for method, path in [("get", "/api/automations"), ("post", "/api/automations")]:
        response = await getattr(client, method)(path)
        assert response.status_code == 401


async def test_reads_need_config_read_and_writes_config_write(client: Any, mint: Any) -> None:
    automation = await saved(client)
    url = f"/api/automations/{automation['id']}"
    reader = bearer(mint(["config:read"]))
    assert (await client.get(url, headers=reader)).status_code == 200
    assert (await client.get(f"{url}/dispatches", headers=reader)).status_code == 200
    assert await error_of(await save(client, reader, name="x")) == (403, "forbidden")
    patched = await client.patch(url, json={"enabled": False}, headers=reader)
    assert await error_of(patched) == (403, "forbidden")
    assert await error_of(await client.delete(url, headers=reader)) == (403, "forbidden")
    assert await error_of(await client.post(f"{url}/run", headers=reader)) == (403, "forbidden")
    stranger = bearer(mint(["agent:read"]))
    assert await error_of(await client.get(url, headers=stranger)) == (403, "forbidden")
    # Saving an action needs what its route needs: a message, message:write.
    config_only = bearer(mint(["config:write", "config:read"]))
    assert await error_of(await save(client, config_only, name="x")) == (403, "forbidden")
    writer = bearer(mint(["config:write", "config:read", "message:write"]))
    assert (await save(client, writer, name="by-writer")).status_code == 201


async def test_saving_a_spawn_needs_command_write_over_its_orchestrator_and_policy(
    client: Any, mint: Any
) -> None:
    config_only = bearer(mint(["config:write"]))
    other_orchestrator = bearer(mint(["config:write", "command:write"], {"orchestrators": ["o2"]}))
    other_policy = bearer(
        mint(["config:write", "command:write"], {"orchestrators": ["o1"], "policyNames": ["x"]})
    )
    covering = bearer(
        mint(
            ["config:write", "command:write"],
            {"orchestrators": ["o1"], "policyNames": ["reviewer"]},
        )
    )
    # Each run spawns a new agent under a new spawn request: a token whose constraints name
    # agents or spawn requests cannot name those, and the spawn route refuses it too.
    within = {"orchestrators": ["o1"], "policyNames": ["reviewer"]}
    agents_limited = bearer(mint(["config:write", "command:write"], {**within, "agents": ["a1"]}))
    spawns_limited = bearer(
        mint(["config:write", "command:write"], {**within, "spawnRequestIds": ["sp_1"]})
    )
    for headers in (config_only, other_orchestrator, other_policy, agents_limited, spawns_limited):
        assert await error_of(await save(client, headers, action=SPAWN)) == (403, "forbidden")
    assert await (await client.get("/api/automations", headers=H)).get_json() == []
    response = await save(client, covering, action={**SPAWN, "cwd": "/srv/o1/x", "label": "l"})
    assert response.status_code == 201
    automation = await response.get_json()
    assert automation["action"] == {**SPAWN, "cwd": "/srv/o1/x", "label": "l"}
    # A change of action is authorized the same way; an unconstrained caller may stop a
    # spawning automation with config:write alone, which can only spawn less (a
    # constrained one needs the spawn rights over it: test_automation_spawn_owners).
    url = f"/api/automations/{automation['id']}"
    moved = {**SPAWN, "orchestratorId": "o9"}
    response = await client.patch(url, json={"action": moved}, headers=covering)
    assert await error_of(response) == (403, "forbidden")
    response = await client.patch(url, json={"enabled": False}, headers=config_only)
    assert response.status_code == 200
    # Nor may such a token run one that a covering caller saved.
    for headers in (agents_limited, spawns_limited):
        response = await client.post(f"{url}/run", headers=headers)
        assert await error_of(response) == (403, "forbidden")


async def test_saves_and_deletes_are_audited_in_config(client: Any) -> None:
    automation = await saved(client)
    await client.delete(f"/api/automations/{automation['id']}", headers=H)
    feed = await (await client.get("/api/activity?view=config", headers=H)).get_json()
    titles = [e["title"] for e in feed if e.get("metadata", {}).get("automationId")]
    assert sorted(titles) == ["Automation deleted", "Automation saved"]


async def test_store_down_is_503_and_nothing_is_saved(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(*_args: Any) -> Any:
        raise Unavailable("store unavailable")

    real_insert, real_load = automation_store.insert, automation_store.load
    monkeypatch.setattr(automation_store, "insert", down)
    response = await save(client)
    assert await error_of(response) == (503, "store unavailable")
    assert response.headers["Retry-After"]
    monkeypatch.setattr(automation_store, "insert", real_insert)
    automation = await saved(client)
    monkeypatch.setattr(automation_store, "load", down)
    response = await client.get(f"/api/automations/{automation['id']}", headers=H)
    assert await error_of(response) == (503, "store unavailable")
    monkeypatch.setattr(automation_store, "load", real_load)
    assert [
        a["name"] for a in await (await client.get("/api/automations", headers=H)).get_json()
    ] == ["notify"]


async def test_an_automation_survives_a_restart(open_app: Any, clock: ManualClock) -> None:
    async with open_app() as app:
        client = app.test_client()
        automation = await saved(client, trigger={"type": "schedule", "everySeconds": 60})
    async with open_app() as app:
        client = app.test_client()
        response = await client.get(f"/api/automations/{automation['id']}", headers=H)
        assert await response.get_json() == automation
        assert await error_of(await save(client)) == (409, "automation name already exists")


POLICY = {"provider": "claude", "cwd": "/srv/o1/allowed", "model": "opus"}


async def put_policy(client: Any, value: dict[str, Any] = POLICY) -> None:
    response = await client.put(
        "/api/config/spawn-policies/reviewer", json={"value": value}, headers=H
    )
    assert response.status_code in (200, 201), await response.get_data()


async def test_a_spawn_automation_keeps_to_the_token_cwd(client: Any, mint: Any) -> None:
    await put_policy(client)
    limited = bearer(
        mint(
            ["config:write", "command:write"],
            {"orchestrators": ["o1"], "policyNames": ["reviewer"], "cwd": ["/srv/o1/allowed"]},
        )
    )
    outside = {**SPAWN, "cwd": "/srv/o1/secret"}
    assert await error_of(await save(client, limited, action=outside)) == (403, "forbidden")
    escape = {**SPAWN, "cwd": "/srv/o1/allowed/../secret"}
    assert await error_of(await save(client, limited, action=escape)) == (403, "forbidden")
    templated = {**SPAWN, "cwd": "/srv/o1/allowed/{{event.cwd}}"}
    response = await save(client, H, action=templated)
    assert await error_of(response) == (
        400,
        "action.orchestratorId, action.policyName and action.cwd of a spawn_agent action "
        "cannot hold {{ templates }}",
    )
    for field in ("orchestratorId", "policyName"):
        response = await save(client, H, action={**SPAWN, field: "{{event.x}}"})
        assert response.status_code == 400
    assert await (await client.get("/api/automations", headers=H)).get_json() == []
    # Without a cwd of its own the action spawns in its policy's, which the policy's
    # writers may point elsewhere after the save: a token limited by cwd names its own.
    assert await error_of(await save(client, limited, action=SPAWN)) == (403, "forbidden")
    inside = {**SPAWN, "cwd": "/srv/o1/allowed"}
    automation = await saved(client, headers=limited, action=inside)
    assert (
        await save(client, limited, action={**SPAWN, "cwd": "/srv/o1/allowed/x"}, name="x")
    ).status_code == 201
    url = f"/api/automations/{automation['id']}"
    response = await client.patch(url, json={"action": outside}, headers=limited)
    assert await error_of(response) == (403, "forbidden")
    # One saved by root with no cwd of its own follows its policy: the token runs it not.
    url = f"/api/automations/{(await saved(client, action=SPAWN, name='by-root'))['id']}"
    response = await client.post(f"{url}/run", headers=limited)
    assert await error_of(response) == (403, "forbidden")
    assert await (await client.get(f"{url}/dispatches", headers=H)).get_json() == []


async def test_a_cwd_limited_token_cannot_point_a_policy_outside_its_cwd(
    client: Any, mint: Any
) -> None:
    # A policy is the cwd of every spawn by it that names none of its own (the spawn route's,
    # an operator's automation): the token may not point it outside its own paths.
    await put_policy(client)
    limited = bearer(
        mint(
            ["config:write", "config:read", "command:write"],
            {"orchestrators": ["o1"], "policyNames": ["reviewer"], "cwd": ["/srv/o1/allowed"]},
        )
    )
    url = "/api/config/spawn-policies/reviewer"
    for cwd in ("/srv/o1/secret", "/srv/o1/allowed/../secret"):
        response = await client.put(url, json={"value": {**POLICY, "cwd": cwd}}, headers=limited)
        assert await error_of(response) == (403, "forbidden"), cwd
    stored = await (await client.get(url, headers=H)).get_json()
    assert stored["value"]["cwd"] == "/srv/o1/allowed"
    inside = {**POLICY, "cwd": "/srv/o1/allowed/sub"}
    response = await client.put(url, json={"value": inside}, headers=limited)
    assert response.status_code == 200


async def test_running_or_rearming_a_spawn_needs_the_spawn_rights(client: Any, mint: Any) -> None:
    await put_policy(client)
    automation = await saved(client, action=SPAWN, enabled=False)
    url = f"/api/automations/{automation['id']}"
    config_only = bearer(mint(["config:write", "config:read"], {"orchestrators": ["other"]}))
    assert await error_of(await client.post(f"{url}/run", headers=config_only)) == (
        403,
        "forbidden",
    )
    for change in (
        {"enabled": True},
        {"trigger": {"type": "event", "eventType": "*"}},
        {"maxPerHour": 1000},
        {"action": {**SPAWN, "cwd": "/srv/o1/allowed"}},
    ):
        response = await client.patch(url, json=change, headers=config_only)
        assert await error_of(response) == (403, "forbidden"), change
    stored = await (await client.get(url, headers=H)).get_json()
    assert (stored["enabled"], stored["version"]) == (False, 1)
    assert await (await client.get(f"{url}/dispatches", headers=H)).get_json() == []
    # Nor may it rename or disable what it could not re-arm: a token limited to another
    # host does not stop this host's spawns.
    response = await client.patch(
        url, json={"name": "renamed", "enabled": False}, headers=config_only
    )
    assert await error_of(response) == (403, "forbidden")
    # Its cwd is its policy's, wherever the policy points at a run: only a caller with no
    # cwd limit re-arms or runs it.
    within = {"orchestrators": ["o1"], "policyNames": ["reviewer"]}
    by_path = bearer(mint(["config:write", "command:write"], {**within, "cwd": ["/srv/o1"]}))
    response = await client.patch(url, json={"enabled": True}, headers=by_path)
    assert await error_of(response) == (403, "forbidden")
    assert await error_of(await client.post(f"{url}/run", headers=by_path)) == (403, "forbidden")
    covering = bearer(mint(["config:write", "command:write"], within))
    assert (await client.patch(url, json={"enabled": True}, headers=covering)).status_code == 200
    assert (await client.post(f"{url}/run", headers=covering)).status_code == 200
