"""A token limited by ``cwd`` to /srv/o1 reaches no session working elsewhere by naming the
session instead of the agent (the daemon finds a session by ``tmuxSession``,
``sessionName`` or ``spawnRequestId`` before ``agentId``): it makes no command naming
one, writes no session name on a card, and reads no command about a session or a
deleted agent at no place it covers. o1's runtime token still does its daemon's work."""

from __future__ import annotations

from typing import Any

from relay.auth.profiles import PROFILES
from tests.conftest import bearer
from tests.http.helpers import H, create_command, poll
from tests.http.sse_client import open_stream, until_end
from tests.http.test_acts_for_cwd import FAR, NEAR, hosts
from tests.http.test_manage_agents_cwd import FORBIDDEN, ops, outcome

FAR_RUN = "far-run"
FAR_SESSION = "relay-far-spawn"


async def _far_session(client: Any) -> None:
    """A runner-managed session on o2, working in /srv/o2/r (as the daemon registers it)."""
    body = {
        "id": FAR_RUN,
        "orchestratorId": "o2",
        "meta": {
            "cwd": "/srv/o2/r",
            "runnerManaged": True,
            "sessionName": FAR_SESSION,
            "tmuxSession": FAR_SESSION,
            "spawnRequestId": "far-spawn",
        },
    }
    response = await client.post("/api/agents", json=body, headers=H)
    assert response.status_code == 201, await response.get_data()


async def test_a_path_limited_operator_commands_an_outside_session_by_its_name(
    client: Any, mint: Any
) -> None:
    """The daemon finds a control command's session by ``tmuxSession``/``sessionName``
    (then ``spawnRequestId``) before ``agentId`` (``relay.daemon.sessions.find_session``).
    A /srv/o1 token, refused every action on ``far-run`` (/srv/o2/r), still queues a
    shutdown / compact / restart of its session on o2 by naming the session instead of
    the agent (or by naming ``near`` as agentId alongside it)."""
    await hosts(client)
    await _far_session(client)
    token = ops(mint)
    # The direct route is refused ...
    response = await client.post(
        f"/api/agents/{FAR_RUN}/actions", json={"action": "shutdown"}, headers=token
    )
    assert await outcome(response) == FORBIDDEN
    leaks = []
    for params in (
        {"sessionName": FAR_SESSION},
        {"tmuxSession": FAR_SESSION},
        {"spawnRequestId": "far-spawn"},
        {"agentId": NEAR, "sessionName": FAR_SESSION},
    ):
        for type_ in ("agent.shutdown", "agent.compact"):
            response = await client.post(
                "/api/commands",
                json={"type": type_, "target": "o2", "params": params},
                headers=token,
            )
            if response.status_code == 201:
                leaks.append((type_, params))
    assert not leaks, leaks


async def test_a_path_limited_operator_reads_a_session_command_naming_no_agent(
    client: Any, mint: Any
) -> None:
    """Reading: a shutdown of far-run's session that names it by session only (as a
    daemon-side or older client would) is read, listed and streamed to the /srv/o1
    token, which may not read far-run."""
    await hosts(client)
    await _far_session(client)
    token = ops(mint)
    async with open_stream(client, headers=token) as stream:
        sent = await create_command(
            client, "o2", type_="agent.shutdown", params={"sessionName": FAR_SESSION}
        )
        frames = await until_end(client, stream)
    leaks = []
    if (await client.get(f"/api/commands/{sent['id']}", headers=token)).status_code == 200:
        leaks.append("GET /api/commands/:id")
    listed = await (await client.get("/api/commands", headers=token)).get_json()
    if sent["id"] in [c["id"] for c in listed]:
        leaks.append("GET /api/commands")
    if any(f.event == "command" and f.data["command"]["id"] == sent["id"] for f in frames):
        leaks.append("stream")
    assert not leaks, leaks


async def test_a_path_limited_operator_reads_commands_about_a_deleted_outside_agent(
    client: Any, mint: Any
) -> None:
    """``far`` (/srv/o2) is shut down, then deleted. The /srv/o1 token may not create a
    command about it (``allow_agent`` on a deleted id: ``acts_for`` at no place), yet reads
    the shutdown and its result: ``params_covered`` judges an agent no longer stored by
    the constraints alone, as if it were a new one."""
    await hosts(client)
    token = ops(mint)
    sent = await create_command(client, "o2", type_="agent.shutdown", params={"agentId": FAR})
    response = await client.delete(f"/api/agents/{FAR}", headers=H)
    assert response.status_code == 200, await response.get_data()
    response = await client.post(
        "/api/commands",
        json={"type": "agent.shutdown", "target": "o2", "params": {"agentId": FAR}},
        headers=token,
    )
    assert await outcome(response) == FORBIDDEN  # may not create it ...
    leaks = []
    if (await client.get(f"/api/commands/{sent['id']}", headers=token)).status_code == 200:
        leaks.append("GET /api/commands/:id")
    listed = await (await client.get(f"/api/commands?agentId={FAR}", headers=token)).get_json()
    if sent["id"] in [c["id"] for c in listed]:
        leaks.append("GET /api/commands?agentId=")
    assert not leaks, leaks


async def test_the_daemon_still_does_its_work(client: Any, mint: Any) -> None:
    """o1's runtime token: spawn / restart commands about a new and an existing agent,
    taking them, reporting them, recording the workspace before and after the agent
    registers, the stream carrying them."""
    runtime = await hosts(client)
    async with open_stream(client, headers=runtime) as stream:
        spawn = await create_command(
            client, "o1", type_="agent.spawn", params={"agentId": "new-a", "cwd": "/srv/o1/x"}
        )
        ws = {
            "id": "ws-new",
            "agentId": "new-a",
            "orchestratorId": "o1",
            "repoRoot": "/srv/o1/x",
            "worktreePath": "/srv/o1/.relay/worktrees/x-1",
            "sourceCwd": "/srv/o1/x",
        }
        response = await client.post("/api/workspaces", json=ws, headers=runtime)
        assert response.status_code in (200, 201), await response.get_data()
        body = {
            "id": "new-a",
            "orchestratorId": "o1",
            "meta": {"cwd": "/srv/o1/.relay/worktrees/x-1", "runnerManaged": True},
        }
        response = await client.post("/api/agents", json=body, headers=runtime)
        assert response.status_code == 201, await response.get_data()
        response = await client.post("/api/workspaces", json=ws, headers=runtime)
        assert response.status_code in (200, 201), await response.get_data()
        response = await client.post("/api/agents/new-a/heartbeat", json={}, headers=runtime)
        assert response.status_code == 200, await response.get_data()
        taken = await poll(client, "o1", headers=runtime)
        assert spawn["id"] in [c["id"] for c in taken]
        response = await client.patch(
            f"/api/commands/{spawn['id']}", json={"status": "succeeded"}, headers=runtime
        )
        assert response.status_code == 200, await response.get_data()
        shut = await create_command(
            client, "o1", type_="agent.shutdown", params={"agentId": "new-a"}
        )
        frames = await until_end(client, stream)
    assert (await client.get(f"/api/commands/{shut['id']}", headers=runtime)).status_code == 200
    seen = {f.data["command"]["id"] for f in frames if f.event == "command"}
    assert {spawn["id"], shut["id"]} <= seen
    assert "ws-new" in {f.data["workspace"]["id"] for f in frames if f.event == "workspace"}
    assert "new-a" in {f.data["agent"]["id"] for f in frames if f.event == "agent"}


async def test_a_path_limited_operator_writes_no_session_name_on_a_card(
    client: Any, mint: Any
) -> None:
    """A runner-managed card within its paths renamed to far-run's session would point
    that card's shutdown at far-run: the /srv/o1 operator may not write a session key."""
    await hosts(client)
    await _far_session(client)
    meta: dict[str, Any] = {"cwd": "/srv/o1/z", "runnerManaged": True, "sessionName": "relay-near"}
    body = {"id": "near-run", "orchestratorId": "o2", "meta": meta}
    response = await client.post("/api/agents", json=body, headers=H)
    assert response.status_code == 201, await response.get_data()
    token = ops(mint)
    for key in ("sessionName", "tmuxSession", "spawnRequestId"):
        response = await client.patch(
            "/api/agents/near-run", json={"meta": {key: FAR_SESSION}}, headers=token
        )
        assert response.status_code == 403, (key, await response.get_data())
        registered = {**body, "meta": {**meta, key: FAR_SESSION}}
        response = await client.post("/api/agents", json=registered, headers=token)
        assert response.status_code == 403, (key, await response.get_data())
    stored = await (await client.get("/api/agents/near-run", headers=H)).get_json()
    assert stored["meta"]["sessionName"] == "relay-near"
    # What does not steer the host it still writes.
    response = await client.patch("/api/agents/near-run", json={"name": "N"}, headers=token)
    assert response.status_code == 200, await response.get_data()


# What registering a host takes (the orchestrator profile's scopes, which the runtime
# token it hands out holds), and token:admin to mint a token for it.
HOST_SCOPES = list(PROFILES["orchestrator"].scope)
ALL_OPS = [*HOST_SCOPES, "token:admin"]


async def test_a_path_limited_operator_becomes_no_host_and_names_no_session(
    client: Any, mint: Any
) -> None:
    """A /srv/o1 operator with token:admin mints itself ``ops:o3`` limited to o3 and
    /srv/o1: a dashboard token is no orchestrator (``is_target``), so it cannot register o3
    and be handed ``orchestrator:o3``, and it may not grant the orchestrator role. A host
    runtime token of a host that does exist at /srv/o1 (o3, registered by root) writes
    ``runnerManaged`` and far's session name on a card in /srv/o1 under no orchestrator;
    ``managing_orchestrator`` must not then route the operator's shutdown of that card to
    o2 by the session name o2 reports, naming ``sessionName: relay-far-spawn``."""
    await hosts(client)
    await _far_session(client)
    # o2's daemon reports the session it runs (as every heartbeat does).
    managed = {"managedAgents": [{"agentId": FAR_RUN, "sessionName": FAR_SESSION}]}
    response = await client.post("/api/orchestrators/o2/heartbeat", json=managed, headers=H)
    assert response.status_code == 200, await response.get_data()
    token = bearer(mint(ALL_OPS, {"cwd": ["/srv/o1"]}, sub="ops", role="dashboard"))
    body: dict[str, Any] = {
        "sub": "ops:o3",
        "profile": "dashboard",
        "scope": HOST_SCOPES,
        "constraints": {"orchestrators": ["o3"], "cwd": ["/srv/o1"]},
    }
    response = await client.post("/api/tokens", json=body, headers=token)
    assert response.status_code == 201, await response.get_data()
    narrowed = bearer((await response.get_json())["token"])
    o3 = {"id": "o3", "baseDir": "/srv/o1"}
    response = await client.post("/api/orchestrators", json=o3, headers=narrowed)
    assert response.status_code == 403, await response.get_data()
    assert (await client.get("/api/orchestrators/o3", headers=H)).status_code == 404
    response = await client.post(
        "/api/tokens", json={**body, "profile": "orchestrator"}, headers=token
    )
    assert response.status_code == 403, await response.get_data()
    response = await client.post("/api/orchestrators", json=o3, headers=H)
    assert response.status_code == 201, await response.get_data()
    host = bearer((await response.get_json())["token"])
    card = {
        "id": "evil",
        "meta": {
            "cwd": "/srv/o1/e",
            "runnerManaged": True,
            "sessionName": FAR_SESSION,
            "tmuxSession": FAR_SESSION,
        },
    }
    response = await client.post("/api/agents", json=card, headers=host)
    written = response.status_code
    response = await client.post(
        "/api/agents/evil/actions", json={"action": "shutdown"}, headers=token
    )
    reply = await response.get_json()
    command = reply.get("command") if isinstance(reply, dict) else None
    leaked = (
        response.status_code == 202
        and command is not None
        and command["target"] == "o2"
        and command["params"].get("sessionName") == FAR_SESSION
    )
    assert not leaked, (written, command)
