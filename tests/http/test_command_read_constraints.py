"""Reading a command to an orchestrator (the list, ``GET /api/commands/:id`` and the event
stream alike) needs what creating it needs of its params: a token covering o1 only as a
place (limited to an agent, or to a path) no longer reads every command sent to o1, other
sessions' restarts and spawns, other paths' merges; o1's own runtime token reads them all."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from relay.clock import ManualClock
from relay.store import commands as command_store
from tests.conftest import bearer
from tests.http.helpers import H, create_command, register_orchestrator
from tests.http.sse_client import open_stream, post_activity
from tests.http.test_agent_actions import CLAUDE_META, act, register_agent

READ = ["command:read", "activity:read"]
# A spawned session's runner token has these constraints (``runner_spec``).
AGENT_A1 = {"orchestrators": ["o1"], "agents": ["a1"]}
CWD_X = {"cwd": ["/srv/o1/x"]}


async def host(client: Any) -> dict[str, str]:
    """o1 (base /srv/o1) running a1 and a2 (whose sessions respawn in /srv/o1/repo); the
    headers of o1's runtime token."""
    o1 = await register_orchestrator(client, "o1", "/srv/o1")
    for agent_id in ("a1", "a2"):
        meta = {**CLAUDE_META, "sessionName": f"s-{agent_id}"}
        await register_agent(client, agent_id, orchestratorId="o1", meta=meta)
    return bearer(o1["token"])


async def send_commands(client: Any, clock: ManualClock) -> dict[str, str]:
    """One command of each kind, oldest first: their ids by name."""
    ids: dict[str, str] = {}
    for agent_id in ("a1", "a2"):
        clock.advance(1)
        response = await act(client, "restart", agent_id=agent_id)
        assert response.status_code == 202, await response.get_data()
        ids[f"{agent_id}-restart"] = (await response.get_json())["command"]["id"]
    clock.advance(1)
    response = await client.post(
        "/api/orchestrators/o1/spawn", json={"provider": "codex", "cwd": "/srv/o1/x"}, headers=H
    )
    assert response.status_code == 202, await response.get_data()
    ids["spawn"] = (await response.get_json())["command"]["id"]
    for place in ("x", "y"):
        clock.advance(1)
        root = f"/srv/o1/{place}"
        params = {"workspaceId": f"w{place}", "repoRoot": root, "worktreePath": f"{root}/wt"}
        merge = await create_command(client, "o1", "workspace.merge", params=params)
        ids[f"merge-{place}"] = merge["id"]
    clock.advance(1)
    ids["a1-direct"] = (await create_command(client, "a1"))["id"]
    return ids


async def fleet(client: Any, clock: ManualClock) -> tuple[dict[str, str], dict[str, str]]:
    """``host`` and its ``send_commands``: (the command ids, o1's runtime token)."""
    runtime = await host(client)
    return await send_commands(client, clock), runtime


async def listed(client: Any, headers: Any, query: str = "") -> list[str]:
    response = await client.get(f"/api/commands?{query}", headers=headers)
    assert response.status_code == 200, await response.get_data()
    return [command["id"] for command in await response.get_json()]


async def got(client: Any, headers: Any, ids: dict[str, str]) -> dict[str, int]:
    """``GET /api/commands/:id`` of each command: its status code, by name."""
    found = {}
    for name, command_id in ids.items():
        found[name] = (await client.get(f"/api/commands/{command_id}", headers=headers)).status_code
    return found


async def test_an_agent_token_reads_only_commands_about_its_agent(
    client: Any, clock: ManualClock, mint: Any
) -> None:
    """A runner's token for a1 reads a1's restart and a1's own commands, not a2's restart,
    the spawn of another agent or a merge that names no agent; o1's runtime token reads
    every one of them."""
    ids, runtime = await fleet(client, clock)
    agent = bearer(mint(READ, AGENT_A1))
    newest_first = list(ids.values())[::-1]
    assert await listed(client, runtime) == newest_first
    assert await listed(client, agent) == [ids["a1-direct"], ids["a1-restart"]]
    # The agentId filter answers within the same commands.
    assert await listed(client, agent, "agentId=a1") == [ids["a1-direct"], ids["a1-restart"]]
    assert await listed(client, agent, "agentId=a2") == []
    assert await listed(client, agent, "target=o1") == [ids["a1-restart"]]
    assert await got(client, runtime, ids) == dict.fromkeys(ids, 200)
    mine = ("a1-restart", "a1-direct")
    assert await got(client, agent, ids) == {n: 200 if n in mine else 403 for n in ids}


async def test_the_store_reads_an_agent_token_only_its_agents_commands(
    client: Any, clock: ManualClock, mint: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A runner lists its commands on a busy host without paging past its siblings': the
    store narrows o1's commands to those about a1 (``Targets.about``)."""
    ids, _ = await fleet(client, clock)
    read: list[str] = []
    search = command_store.search

    async def recorded(**kwargs: Any) -> Any:
        found = await search(**kwargs)
        read.extend(command.id for command in found)
        return found

    monkeypatch.setattr(command_store, "search", recorded)
    assert await listed(client, bearer(mint(READ, AGENT_A1))) == read
    assert read == [ids["a1-direct"], ids["a1-restart"]]


async def test_a_cwd_token_reads_no_command_acting_outside_its_path(
    client: Any, clock: ManualClock, mint: Any
) -> None:
    """A token limited to /srv/o1/x reads the merge and the spawn there, not the merge of
    /srv/o1/y nor the restarts, which respawn in /srv/o1/repo, nor a command to a1, which
    works there."""
    ids, _ = await fleet(client, clock)
    cwd = bearer(mint(READ, CWD_X))
    assert await listed(client, cwd) == [ids["merge-x"], ids["spawn"]]
    assert await listed(client, cwd, "type=workspace.merge") == [ids["merge-x"]]
    readable = ("merge-x", "spawn")
    assert await got(client, cwd, ids) == {n: 200 if n in readable else 403 for n in ids}


async def commands_streamed(stream: Any) -> list[str]:
    """The ids of the commands the stream sends as created, up to the activity "end"."""
    created: list[str] = []
    frame = await stream.next_event()
    while frame.event != "activity" or frame.data["title"] != "end":
        if frame.event == "command" and frame.data["change"] == "created":
            created.append(frame.data["command"]["id"])
        frame = await stream.next_event()
    return created


async def test_the_stream_sends_a_command_only_to_whom_may_read_it(
    client: Any, clock: ManualClock, mint: Any
) -> None:
    """The live stream judges a command event as the list does: by what its params name,
    from the agents held in memory."""
    tokens = {
        "runtime": await host(client),
        "agent": bearer(mint(READ, AGENT_A1)),
        "cwd": bearer(mint(READ, CWD_X)),
    }
    async with (
        open_stream(client, headers=tokens["runtime"]) as runtime,
        open_stream(client, headers=tokens["agent"]) as agent,
        open_stream(client, headers=tokens["cwd"]) as cwd,
    ):
        streamed: dict[str, list[str]] = {}

        async def read(name: str, stream: Any) -> None:
            streamed[name] = await commands_streamed(stream)

        async with trio.open_nursery() as nursery:
            # Each stream read as it is sent: one left unread stalls the relay's writes.
            for name, stream in (("runtime", runtime), ("agent", agent), ("cwd", cwd)):
                nursery.start_soon(read, name, stream)
            ids = await send_commands(client, clock)
            # Last, the end of what each is sent: a row of a1's, on o1, for the runtime and
            # the agent token; the cwd token reads no row of a1 (it works outside /srv/o1/x)
            # nor of o1 (its baseDir is too), so for it one naming neither.
            await post_activity(client, "end", agentId="a1", orchestratorId="o1")
            await post_activity(client, "end")
    assert streamed == {
        "runtime": list(ids.values()),
        # The stream sends a caller limited by agents no event tied to none of them, which
        # a command event is (the list above is where it reads its agents' commands).
        "agent": [],
        "cwd": [ids["spawn"], ids["merge-x"]],
    }
    for name in ("runtime", "cwd"):
        assert await listed(client, tokens[name]) == streamed[name][::-1], name


async def test_a_cwd_token_reads_no_command_to_a_host_its_paths_miss(
    client: Any, clock: ManualClock, mint: Any
) -> None:
    """A command to o2 (at /srv/o2) naming no path and no agent: nothing in its params lies
    outside /srv/o1, but o2's card is not read by a token limited to /srv/o1 (its paths
    and o2's baseDir do not overlap), and neither is the command, in the list, by id or on
    the stream. The same command to o1 it reads."""
    await host(client)
    await register_orchestrator(client, "o2", "/srv/o2")
    token = bearer(mint(READ, {"cwd": ["/srv/o1"]}))
    async with open_stream(client, headers=token) as stream:
        clock.advance(1)
        to_o1 = (await create_command(client, "o1"))["id"]
        clock.advance(1)
        to_o2 = (await create_command(client, "o2"))["id"]
        await post_activity(client, "end")
        streamed = await commands_streamed(stream)
    assert streamed == [to_o1]
    assert await listed(client, token) == [to_o1]
    assert await got(client, token, {"o1": to_o1, "o2": to_o2}) == {"o1": 200, "o2": 403}
    assert await listed(client, H) == [to_o2, to_o1]


async def test_a_cwd_token_touches_no_command_of_a_host_its_paths_miss(
    client: Any, mint: Any
) -> None:
    """Nor does it create a command to o2 or cancel one (found by review): what it may not
    read it may not make or undo. 403, nothing queued, the command still queued; to o1 it
    still creates one."""
    await host(client)
    await register_orchestrator(client, "o2", "/srv/o2")
    token = bearer(mint(["command:read", "command:write"], {"cwd": ["/srv/o1"]}))
    body = {"type": "test.noop", "target": "o2"}
    response = await client.post("/api/commands", json=body, headers=token)
    assert response.status_code == 403
    assert await response.get_json() == {"error": "forbidden"}
    assert await listed(client, H, "target=o2") == []
    queued = await create_command(client, "o2")
    cancel = {"status": "cancelled"}
    response = await client.patch(f"/api/commands/{queued['id']}", json=cancel, headers=token)
    assert response.status_code == 403
    stored = await (await client.get(f"/api/commands/{queued['id']}", headers=H)).get_json()
    assert stored["status"] == "queued"
    response = await client.post("/api/commands", json={**body, "target": "o1"}, headers=token)
    assert response.status_code == 201, await response.get_data()
