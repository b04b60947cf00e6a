"""Channel routes end to end (messaging.md "Channels"): channels, bindings, the dry run."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from relay.actors import channels
from relay.actors.agent import reap_agents
from relay.clock import ManualClock
from relay.errors import Forbidden, NotFound
from relay.http.services import Services
from relay.settings import Settings
from tests.conftest import bearer, root_headers, services_of
from tests.http.sse_client import open_stream

H = root_headers()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The tests take agents offline with the reaper themselves.
    return settings.model_copy(update={"job_agent_reaper_seconds": 3600})


async def json_of(response: Any) -> Any:
    return await response.get_json()


async def create(client: Any, channel_id: str = "ops", **fields: Any) -> Any:
    return await client.post("/api/channels", json={"id": channel_id, **fields}, headers=H)


async def add_binding(
    client: Any, channel_id: str = "ops", headers: dict[str, str] = H, /, **fields: Any
) -> Any:
    body = {"mode": "broadcast", "targetType": "tag", "target": "w", **fields}
    return await client.post(f"/api/channels/{channel_id}/bindings", json=body, headers=headers)


async def register(client: Any, agent_id: str, **fields: Any) -> None:
    response = await client.post("/api/agents", json={"id": agent_id, **fields}, headers=H)
    assert response.status_code in (200, 201), await response.get_data()


async def route(client: Any, channel_id: str = "ops", sender: str | None = None) -> Any:
    query = f"?from={sender}" if sender is not None else ""
    response = await client.get(f"/api/channels/{channel_id}/route{query}", headers=H)
    assert response.status_code == 200, await response.get_data()
    return await json_of(response)


def agents_of(routed: dict[str, Any]) -> list[str]:
    return [target["agentId"] for target in routed["targets"]]


# -- channels ----------------------------------------------------------------------------------


async def test_create_get_list_delete(client: Any, clock: ManualClock) -> None:
    created = await create(client, description="on-call")
    assert created.status_code == 201
    channel = await json_of(created)
    assert channel == {
        "id": "ops",
        "description": "on-call",
        "conversationId": channel["conversationId"],
        "createdAt": clock.now_ms(),
        "updatedAt": clock.now_ms(),
    }
    assert channel["conversationId"].startswith("cnv_")
    assert len(channel["conversationId"]) == 36
    assert (await create(client, "quiet")).status_code == 201
    await add_binding(client)
    await add_binding(client, target="x")

    assert await json_of(await client.get("/api/channels/ops", headers=H)) == {
        **channel,
        "updatedAt": clock.now_ms(),
        "bindings": await json_of(await client.get("/api/channels/ops/bindings", headers=H)),
    }
    listed = await json_of(await client.get("/api/channels", headers=H))
    assert [(c["id"], c["bindings"], c["lastMessageAt"]) for c in listed] == [
        ("ops", 2, None),
        ("quiet", 0, None),
    ]
    assert "description" not in listed[1]

    deleted = await client.delete("/api/channels/ops", headers=H)
    assert (deleted.status_code, await json_of(deleted)) == (200, {"ok": True, "id": "ops"})
    gone = await client.get("/api/channels/ops", headers=H)
    assert (gone.status_code, await json_of(gone)) == (404, {"error": "channel not found"})
    assert [c["id"] for c in await json_of(await client.get("/api/channels", headers=H))] == [
        "quiet"
    ]
    # Its bindings went with it: a new channel of that name starts bare.
    assert (await create(client)).status_code == 201
    recreated = await json_of(await client.get("/api/channels/ops", headers=H))
    assert recreated["bindings"] == []
    assert recreated["conversationId"] != channel["conversationId"]


async def test_a_taken_id_is_409_and_changes_nothing(client: Any) -> None:
    await create(client, description="first")
    again = await create(client, description="second")
    assert (again.status_code, await json_of(again)) == (409, {"error": "channel already exists"})
    assert (await json_of(await client.get("/api/channels/ops", headers=H)))[
        "description"
    ] == "first"


async def test_concurrent_creates_and_bindings_one_wins(client: Any) -> None:
    statuses: list[int] = []

    async def attempt(call: Any) -> None:
        statuses.append((await call()).status_code)

    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(attempt, lambda: create(client))
    assert sorted(statuses) == [201, 409, 409, 409, 409]
    statuses.clear()
    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(attempt, lambda: add_binding(client))
    assert sorted(statuses) == [201, 409, 409, 409, 409]
    assert len(await json_of(await client.get("/api/channels/ops/bindings", headers=H))) == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "id is required"),
        ({"id": ""}, "id must not be empty"),
        ({"id": "Ops"}, "id has an invalid format"),
        ({"id": ".ops"}, "id has an invalid format"),
        ({"id": "-ops"}, "id has an invalid format"),
        ({"id": "ops team"}, "id has an invalid format"),
        ({"id": "ops/x"}, "id has an invalid format"),
        ({"id": "a" * 65}, "id must be at most 64 characters"),
        ({"id": 7}, "id must be a string"),
        ({"id": "ops", "description": "d" * 501}, "description must be at most 500 characters"),
        ({"id": "ops", "description": 5}, "description must be a string"),
    ],
)
async def test_create_refuses_bad_input(client: Any, body: dict[str, Any], error: str) -> None:
    response = await client.post("/api/channels", json=body, headers=H)
    assert (response.status_code, await json_of(response)) == (400, {"error": error})
    assert await json_of(await client.get("/api/channels", headers=H)) == []


@pytest.mark.parametrize("channel_id", ["0", "a" * 64, "ops.team_1-x"])
async def test_ids_at_the_edges_of_the_pattern(client: Any, channel_id: str) -> None:
    assert (await create(client, channel_id, description="d" * 500)).status_code == 201
    assert (await client.get(f"/api/channels/{channel_id}", headers=H)).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/channels/nope"),
        ("delete", "/api/channels/nope"),
        ("get", "/api/channels/nope/bindings"),
        ("get", "/api/channels/nope/route"),
        ("delete", "/api/channels/nope/bindings/bnd_0123"),
        ("get", "/api/channels/" + "a" * 65),  # longer than any channel id: never a row
    ],
)
async def test_unknown_channel_is_404(client: Any, method: str, path: str) -> None:
    response = await getattr(client, method)(path, headers=H)
    assert (response.status_code, await json_of(response)) == (404, {"error": "channel not found"})


async def test_binding_on_unknown_channel_is_404(client: Any) -> None:
    response = await add_binding(client, "nope")
    assert (response.status_code, await json_of(response)) == (404, {"error": "channel not found"})


# -- bindings ----------------------------------------------------------------------------------


async def test_add_list_remove_binding(client: Any, clock: ManualClock) -> None:
    await create(client)
    clock.advance(1)
    response = await add_binding(client, mode="exclusive", targetType="label", target="db")
    assert response.status_code == 201
    binding = await json_of(response)
    assert binding == {
        "id": binding["id"],
        "channelId": "ops",
        "mode": "exclusive",
        "targetType": "label",
        "target": "db",
        "direction": "both",
        "createdAt": clock.now_ms(),
    }
    assert binding["id"].startswith("bnd_")
    assert len(binding["id"]) == 36
    outbound = await json_of(await add_binding(client, direction="outbound"))
    assert outbound["direction"] == "outbound"
    listed = await json_of(await client.get("/api/channels/ops/bindings", headers=H))
    assert listed == [binding, outbound]
    channel = await json_of(await client.get("/api/channels/ops", headers=H))
    assert channel["updatedAt"] == clock.now_ms() > channel["createdAt"]

    removed = await client.delete(f"/api/channels/ops/bindings/{binding['id']}", headers=H)
    assert (removed.status_code, await json_of(removed)) == (200, binding)
    again = await client.delete(f"/api/channels/ops/bindings/{binding['id']}", headers=H)
    assert (again.status_code, await json_of(again)) == (404, {"error": "binding not found"})
    assert await json_of(await client.get("/api/channels/ops/bindings", headers=H)) == [outbound]


async def test_a_binding_of_another_channel_is_not_found_here(client: Any) -> None:
    await create(client)
    await create(client, "other")
    binding = await json_of(await add_binding(client, "other"))
    response = await client.delete(f"/api/channels/ops/bindings/{binding['id']}", headers=H)
    assert (response.status_code, await json_of(response)) == (404, {"error": "binding not found"})
    too_long = await client.delete(f"/api/channels/ops/bindings/bnd_{'0' * 40}", headers=H)
    assert (too_long.status_code, await json_of(too_long)) == (
        404,
        {"error": "binding not found"},
    )


async def test_same_mode_type_and_target_is_409(client: Any) -> None:
    await create(client)
    assert (await add_binding(client, direction="inbound")).status_code == 201
    again = await add_binding(client, direction="outbound")
    assert (again.status_code, await json_of(again)) == (409, {"error": "binding already exists"})
    # Another mode, type or target is another binding.
    assert (await add_binding(client, mode="exclusive")).status_code == 201
    assert (await add_binding(client, targetType="label")).status_code == 201
    assert (await add_binding(client, target="v")).status_code == 201
    assert len(await json_of(await client.get("/api/channels/ops/bindings", headers=H))) == 4


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"mode": "roundrobin"}, "mode must be one of exclusive, broadcast"),
        ({"mode": None}, "mode must be one of exclusive, broadcast"),
        ({"targetType": "name"}, "targetType must be one of agent, label, tag, capability"),
        ({"direction": "up"}, "direction must be one of inbound, outbound, both"),
        ({"target": ""}, "target must not be empty"),
        ({"target": "t" * 201}, "target must be at most 200 characters"),
        ({"target": 3}, "target must be a string"),
    ],
)
async def test_binding_refuses_bad_input(client: Any, fields: dict[str, Any], error: str) -> None:
    await create(client)
    response = await add_binding(client, **fields)
    assert (response.status_code, await json_of(response)) == (400, {"error": error})
    assert await json_of(await client.get("/api/channels/ops/bindings", headers=H)) == []


@pytest.mark.parametrize("missing", ["mode", "targetType", "target"])
async def test_binding_fields_are_required(client: Any, missing: str) -> None:
    await create(client)
    body = {"mode": "broadcast", "targetType": "tag", "target": "w"}
    del body[missing]
    response = await client.post("/api/channels/ops/bindings", json=body, headers=H)
    assert (response.status_code, await json_of(response)) == (
        400,
        {"error": f"{missing} is required"},
    )


async def test_target_at_its_limit_is_accepted(client: Any) -> None:
    await create(client)
    assert (await add_binding(client, target="t" * 200)).status_code == 201


# -- scopes ------------------------------------------------------------------------------------


async def test_writes_need_config_write_and_reads_message_read(client: Any, mint: Any) -> None:
    await create(client)
    binding = await json_of(await add_binding(client))
    reader = bearer(mint(["message:read"]))
    writer = bearer(mint(["config:write"]))
    writes = [
        ("post", "/api/channels", {"id": "new"}),
        ("delete", "/api/channels/ops", None),
        (
            "post",
            "/api/channels/ops/bindings",
            {"mode": "broadcast", "targetType": "tag", "target": "z"},
        ),
        ("delete", f"/api/channels/ops/bindings/{binding['id']}", None),
    ]
    reads = [
        "/api/channels",
        "/api/channels/ops",
        "/api/channels/ops/bindings",
        "/api/channels/ops/route",
    ]
    for method, path, body in writes:
        response = await getattr(client, method)(path, json=body, headers=reader)
        assert (response.status_code, await json_of(response)) == (403, {"error": "forbidden"})
        response = await getattr(client, method)(path, json=body, headers={})
        assert response.status_code == 401
    for path in reads:
        response = await client.get(path, headers=writer)
        assert (response.status_code, await json_of(response)) == (403, {"error": "forbidden"})
        assert (await client.get(path, headers={})).status_code == 401
        assert (await client.get(path, headers=reader)).status_code == 200
    # Nothing was changed by the refused writes.
    assert [c["id"] for c in await json_of(await client.get("/api/channels", headers=H))] == ["ops"]
    assert len(await json_of(await client.get("/api/channels/ops/bindings", headers=H))) == 1
    assert (
        await client.post("/api/channels", json={"id": "new"}, headers=writer)
    ).status_code == 201


async def test_a_binding_naming_an_agent_needs_a_caller_covering_it(client: Any, mint: Any) -> None:
    """A constrained token may bind its own agents, but not another owner's agent (the
    binding would decide where that agent's messages come from), nor a tag, which matches
    any owner's agents that carry it. Removing one is judged on the stored binding."""
    await create(client)
    await register(client, "mine", orchestratorId="o1")
    await register(client, "theirs", orchestratorId="o2")
    by_agent = bearer(mint(["config:write", "message:read"], {"agents": ["mine"]}))
    by_orchestrator = bearer(mint(["config:write", "message:read"], {"orchestrators": ["o1"]}))
    theirs = {"mode": "broadcast", "targetType": "agent", "target": "theirs"}
    foreign = await json_of(await add_binding(client, **theirs))
    for headers in (by_agent, by_orchestrator):
        response = await client.post("/api/channels/ops/bindings", json=theirs, headers=headers)
        assert (response.status_code, await json_of(response)) == (403, {"error": "forbidden"})
        response = await client.delete(
            f"/api/channels/ops/bindings/{foreign['id']}", headers=headers
        )
        assert (response.status_code, await json_of(response)) == (403, {"error": "forbidden"})
    bindings = await json_of(await client.get("/api/channels/ops/bindings", headers=H))
    assert [b["id"] for b in bindings] == [foreign["id"]]  # the refusals changed nothing

    # Not registered yet: it may become another owner's, so no constrained caller binds it.
    later = {"mode": "broadcast", "targetType": "agent", "target": "later"}
    for headers in (by_agent, by_orchestrator):
        response = await client.post("/api/channels/ops/bindings", json=later, headers=headers)
        assert (response.status_code, await json_of(response)) == (403, {"error": "forbidden"})
    assert (await add_binding(client, **later)).status_code == 201  # an operator may

    tag = {"mode": "broadcast", "targetType": "tag", "target": "theirs"}  # any owner's agents
    for headers in (by_agent, by_orchestrator):
        response = await client.post("/api/channels/ops/bindings", json=tag, headers=headers)
        assert (response.status_code, await json_of(response)) == (403, {"error": "forbidden"})
    own = {"mode": "exclusive", "targetType": "agent", "target": "mine"}
    response = await client.post("/api/channels/ops/bindings", json=own, headers=by_agent)
    assert response.status_code == 201, await json_of(response)
    created = await json_of(response)
    response = await client.delete(f"/api/channels/ops/bindings/{created['id']}", headers=by_agent)
    assert response.status_code == 200


# -- routing -----------------------------------------------------------------------------------


async def take_offline(client: Any, services: Services, clock: ManualClock, *online: str) -> None:
    """Every agent goes offline, then ``online`` heartbeat back."""
    clock.advance(301)
    await reap_agents(services.runtime)
    for agent_id in online:
        response = await client.post(f"/api/agents/{agent_id}/heartbeat", headers=H)
        assert response.status_code == 200


async def test_exclusive_vs_broadcast_with_two_matching_agents(client: Any) -> None:
    await register(client, "a1", tags=["w"])
    await register(client, "a2", tags=["w"])
    await create(client, "one")
    exclusive = await json_of(await add_binding(client, "one", mode="exclusive"))
    await create(client, "all")
    broadcast = await json_of(await add_binding(client, "all", mode="broadcast"))

    assert await route(client, "one") == {
        "channelId": "one",
        "targets": [
            {
                "agentId": "a1",
                "mode": "exclusive",
                "matchedBy": {"bindingId": exclusive["id"], "targetType": "tag", "target": "w"},
            }
        ],
    }
    matched = {"bindingId": broadcast["id"], "targetType": "tag", "target": "w"}
    assert await route(client, "all") == {
        "channelId": "all",
        "targets": [
            {"agentId": "a1", "mode": "broadcast", "matchedBy": matched},
            {"agentId": "a2", "mode": "broadcast", "matchedBy": matched},
        ],
    }


async def test_the_dry_run_changes_nothing_and_a_send_rotates(
    client: Any, services: Services
) -> None:
    await register(client, "a1", tags=["w"])
    await register(client, "a2", tags=["w"])
    await create(client)
    await add_binding(client, mode="exclusive")
    rt = services.runtime

    first = await route(client)
    assert await route(client) == first  # a second dry run: the same answer
    assert agents_of(first) == ["a1"]

    # What a send does after routing: the pick becomes the most recently chosen.
    predicted = await channels.channel_route(rt, "ops", None)
    assert [t.to_json() for t in predicted.targets] == first["targets"]
    await channels.record_chosen(rt, "ops", predicted.chosen)
    assert agents_of(await route(client)) == ["a2"]
    await channels.record_chosen(rt, "ops", "a2")
    assert agents_of(await route(client)) == ["a1"]
    await channels.record_chosen(rt, "ops", None)  # a send that chose nobody exclusively
    assert agents_of(await route(client)) == ["a1"]
    await client.delete("/api/channels/ops", headers=H)
    await channels.record_chosen(rt, "ops", "a1")  # the channel went meanwhile: no error


async def test_exclusive_needs_an_online_agent_and_broadcast_takes_any(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await register(client, "a1", tags=["w"])
    await register(client, "a2", tags=["w"])
    await take_offline(client, services, clock, "a2")
    await create(client)
    await add_binding(client, mode="exclusive")
    assert agents_of(await route(client)) == ["a2"]
    await take_offline(client, services, clock)
    assert await route(client) == {"channelId": "ops", "targets": []}  # no error on no match
    await add_binding(client, mode="broadcast")
    assert agents_of(await route(client)) == ["a1", "a2"]


async def test_most_specific_type_label_and_capability_from_the_card(client: Any) -> None:
    await register(client, "a1", meta={"capabilities": ["go"]})
    await register(client, "a2", meta={"label": "db"})
    await create(client)
    await add_binding(client, mode="exclusive", targetType="capability", target="go")
    assert agents_of(await route(client)) == ["a1"]
    label = await json_of(
        await add_binding(client, mode="exclusive", targetType="label", target="db")
    )
    routed = await route(client)
    assert agents_of(routed) == ["a2"]
    assert routed["targets"][0]["matchedBy"]["bindingId"] == label["id"]


async def test_the_sender_is_never_a_target_and_outbound_does_not_route(client: Any) -> None:
    await register(client, "a1", tags=["w"])
    await register(client, "a2", tags=["w"])
    await create(client)
    await add_binding(client, mode="broadcast", direction="inbound")
    await add_binding(
        client, mode="exclusive", targetType="agent", target="a1", direction="outbound"
    )
    assert agents_of(await route(client, sender="a1")) == ["a2"]
    assert agents_of(await route(client, sender="a2")) == ["a1"]
    assert agents_of(await route(client, sender="root")) == ["a1", "a2"]


async def test_route_from_is_bounded(client: Any) -> None:
    await create(client)
    response = await client.get(f"/api/channels/ops/route?from={'a' * 201}", headers=H)
    assert (response.status_code, await json_of(response)) == (
        400,
        {"error": "from must be at most 200 characters"},
    )


async def test_may_post(client: Any, services: Services) -> None:
    rt = services.runtime
    await register(client, "a1", tags=["w"])
    await register(client, "a2", tags=["v"])
    await create(client)
    await add_binding(client, direction="inbound")
    with pytest.raises(Forbidden, match=r"^agent a1 may not post to channel ops$"):
        await channels.may_post(rt, "ops", "a1")
    await add_binding(client, targetType="agent", target="a1", direction="outbound")
    await channels.may_post(rt, "ops", "a1")
    with pytest.raises(Forbidden, match=r"^agent a2 may not post to channel ops$"):
        await channels.may_post(rt, "ops", "a2")
    await channels.may_post(rt, "ops", "root")  # not an agent
    with pytest.raises(NotFound, match=r"^channel not found$"):
        await channels.may_post(rt, "nope", "a1")


# -- events, audit, restart --------------------------------------------------------------------


async def test_channel_events_and_audits(client: Any) -> None:
    async with open_stream(client, {"view": "channels"}) as stream:
        await create(client)
        binding = await json_of(await add_binding(client))
        await add_binding(client)  # refused: no event
        await client.delete(f"/api/channels/ops/bindings/{binding['id']}", headers=H)
        await client.delete("/api/channels/ops", headers=H)
        frames = await stream.events(8)
    changes = [(f.data["change"], f.data.get("binding")) for f in frames if f.event == "channel"]
    assert changes == [
        ("created", None),
        ("binding-added", binding),
        ("binding-removed", binding),
        ("deleted", None),
    ]
    assert all(f.data["channel"]["id"] == "ops" for f in frames if f.event == "channel")
    titles = [f.data["title"] for f in frames if f.event == "activity"]
    assert titles == [
        "Channel created",
        "Channel binding added",
        "Channel binding removed",
        "Channel deleted",
    ]
    audits = await json_of(await client.get("/api/activity?view=channels", headers=H))
    assert sorted(item["title"] for item in audits) == sorted(titles)
    assert {item["metadata"]["by"] for item in audits} == {"root"}


async def test_channels_bindings_and_rotation_survive_a_restart(open_app: Any) -> None:
    async with open_app() as app:
        client = app.test_client()
        await register(client, "a1", tags=["w"])
        await register(client, "a2", tags=["w"])
        await create(client, description="kept")
        binding = await json_of(await add_binding(client, mode="exclusive"))
        await channels.record_chosen(services_of(app).runtime, "ops", "a1")
    async with open_app() as app:
        client = app.test_client()
        channel = await json_of(await client.get("/api/channels/ops", headers=H))
        assert (channel["description"], channel["bindings"]) == ("kept", [binding])
        assert agents_of(await route(client)) == ["a2"]
