"""Session commands: ``agent.spawn``, ``agent.restart`` (and resume), ``agent.shutdown``,
``agent.compact`` / ``agent.clearContext`` / ``agent.reconnect``.

A session is a detached tmux session named from its spawn request
(``relay-<spawnRequestId>``) that runs the provider through ``relay.daemon.launch``.
The daemon registers the session with the relay as an agent (``meta.runnerManaged``,
``spawnRequestId``, ``sessionName``, ``tmuxSession``, ``provider``) and heartbeats it
while the tmux session lives; the session gets ``RELAY_URL``, ``RELAY_AGENT_ID`` and,
when the command carries one (``params.runnerToken``), ``RELAY_TOKEN``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import trio

from relay.daemon import memory_reload, providers, worktrees
from relay.daemon.context import Context, Host
from relay.daemon.journal import SessionRecord, now_ms
from relay.daemon.outcome import JSON, CommandFailed
from relay.daemon.providers import SpawnRequest

POLL_SECONDS = 0.05
LAUNCH_DIR = "launch"
START_GRACE_MS = 30_000
LAUNCH_TIMEOUT_SECONDS = 10.0


# -- agent.spawn -----------------------------------------------------------------------------


async def spawn(ctx: Context, params: JSON) -> JSON:
    return await start_session(ctx, SpawnRequest.parse(params))


async def start_session(ctx: Context, request: SpawnRequest) -> JSON:
    """Start (or find, when already running) the session for a spawn request."""
    cwd = ctx.base.check(request.cwd, "cwd")
    if not cwd.is_dir():
        raise CommandFailed(f"cwd {cwd} is not a directory")
    name = providers.session_name(request.spawn_request_id)
    agent_id = providers.agent_id_for(request)
    argv = providers.build_argv(
        request,
        claude_command=ctx.settings.claude_command,
        codex_command=ctx.settings.codex_command,
    )
    known = {record.name: record for record in await ctx.sessions()}
    if await ctx.tmux.has_session(name):
        record = known.get(name)
        if record is None:
            raise CommandFailed(f"a tmux session named {name} exists and is not ours")
        registered = await _register(ctx, record)
        return _spawned(record, request, already_running=True, registered=registered)

    workspace: worktrees.Workspace | None = None
    if request.workspace_mode == "isolated":
        workspace = await worktrees.create_worktree(
            ctx,
            cwd,
            workspace_id=providers.workspace_id_for(request.spawn_request_id),
            name_hint=f"{providers.slug(request.label or request.provider)}-"
            f"{providers.short_id(request.spawn_request_id)}",
        )
        cwd = workspace.cwd
    env = providers.session_env(
        request,
        relay_url=ctx.host.relay_url,
        agent_id=agent_id,
        orchestrator_id=ctx.host.orchestrator_id,
        session=name,
        workspace_id=workspace.id if workspace else None,
    )
    if _which(argv[0], cwd, env) is None:
        raise CommandFailed(f"provider command not found on this host: {argv[0]}")
    spec = await _write_launch_spec(ctx.base.state_dir, name, argv, cwd, env)
    record = SessionRecord(
        name=name,
        agent_id=agent_id,
        provider=request.provider,
        cwd=str(cwd),
        spawn_request_id=request.spawn_request_id,
        workspace_id=workspace.id if workspace else None,
        meta={"label": request.label, "model": request.model, "policyName": request.policy_name},
    )
    await trio.to_thread.run_sync(ctx.host.journal.put_session, record)
    try:
        await ctx.tmux.new_session(
            name, cwd, [sys.executable, "-m", "relay.daemon.launch", str(spec)]
        )
    except CommandFailed:
        await trio.to_thread.run_sync(ctx.host.journal.drop_session, name)
        spec.unlink(missing_ok=True)
        raise
    if workspace is not None:
        workspace = await worktrees.record(
            ctx,
            workspace,
            agent_id,
            {"spawnRequestId": request.spawn_request_id, "sessionName": name},
        )
    await _wait_started(ctx, name, spec, argv[0])
    registered = await _register(ctx, record)
    result = _spawned(record, request, already_running=False, registered=registered)
    if workspace is not None:
        result["workspace"] = workspace.to_json()
        result["workspaceId"] = workspace.id
    return result


async def _wait_started(ctx: Context, name: str, spec: Path, program: str) -> None:
    """Wait for the launcher to take its spec (the session started); fail if it could not."""
    error = spec.with_name(spec.name + ".error")
    with trio.move_on_after(LAUNCH_TIMEOUT_SECONDS):
        # The launcher deletes the spec once it is in the cwd, just before it execs.
        while await trio.Path(spec).exists():  # noqa: ASYNC110 - a file, not an event
            await trio.sleep(POLL_SECONDS / 5)
    if await trio.Path(error).exists():
        message = await trio.Path(error).read_text()
        await trio.Path(error).unlink()
        await ctx.tmux.kill_session(name)
        await trio.to_thread.run_sync(ctx.host.journal.drop_session, name)
        raise CommandFailed(f"session {name} could not start {program}: {message}")
    if await trio.Path(spec).exists():
        raise CommandFailed(f"session {name} did not start within {LAUNCH_TIMEOUT_SECONDS:g} s")


def _spawned(
    record: SessionRecord, request: SpawnRequest, *, already_running: bool, registered: bool
) -> JSON:
    return {
        "agentId": record.agent_id,
        "sessionName": record.name,
        "tmuxSession": record.name,
        "spawnRequestId": request.spawn_request_id,
        "provider": request.provider,
        "cwd": record.cwd,
        "running": True,
        "alreadyRunning": already_running,
        "agentRegistered": registered,
    }


def agent_card(host: Host, record: SessionRecord) -> JSON:
    """The agent registration for a managed session."""
    meta: JSON = {
        "runnerManaged": True,
        "provider": record.provider,
        "sessionName": record.name,
        "tmuxSession": record.name,
        "spawnRequestId": record.spawn_request_id,
        "cwd": record.cwd,
        "orchestratorId": host.orchestrator_id,
    }
    for key in ("label", "model", "policyName"):
        if record.meta.get(key):
            meta[key] = record.meta[key]
    if record.workspace_id:
        meta["workspaceId"] = record.workspace_id
    model: JSON = {"provider": record.provider}
    if record.meta.get("model"):
        model["model"] = record.meta["model"]
    return {
        "id": record.agent_id,
        "name": record.meta.get("label") or f"{record.provider} {record.name}",
        "kind": "agent",
        "ready": True,
        "orchestratorId": host.orchestrator_id,
        "providerCapabilities": {
            "lifecycle": providers.lifecycle_capabilities(record.provider),
            "model": model,
        },
        "meta": meta,
    }


async def _register(ctx: Context, record: SessionRecord) -> bool:
    return await ctx.host.relay.register_agent(agent_card(ctx.host, record)) is not None


async def _write_launch_spec(
    state_dir: Path, name: str, argv: list[str], cwd: Path, env: dict[str, str]
) -> Path:
    def write() -> Path:
        folder = state_dir / LAUNCH_DIR
        folder.mkdir(mode=0o700, exist_ok=True)
        path = folder / f"{name}.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"argv": argv, "cwd": str(cwd), "env": env}, out)
        return path

    return await trio.to_thread.run_sync(write)


def _which(command: str, cwd: Path, env: dict[str, str]) -> str | None:
    if os.sep in command:
        path = command if os.path.isabs(command) else str(cwd / command)
        return path if os.access(path, os.X_OK) else None
    return shutil.which(command, path=env.get("PATH") or os.environ.get("PATH"))


# -- finding a session -----------------------------------------------------------------------


async def find_session(ctx: Context, params: JSON) -> tuple[str | None, SessionRecord | None]:
    """The session a control command names: tmuxSession, sessionName, agent or spawn id.

    Only a session this daemon names (``relay-…``): it shares the user's tmux server, and
    a wake types into the session it is given. A session the journal records for another
    agent or another spawn request than the command names is refused: a token allowed
    one agent, or one spawn, names that one in the command (``session_name`` maps several
    spawn ids to one name).
    """
    records = await ctx.sessions()
    agent_id, spawn_id = _text(params.get("agentId")), _text(params.get("spawnRequestId"))
    for key in ("tmuxSession", "sessionName"):
        value = params.get(key)
        if isinstance(value, str) and value:
            if not providers.valid_session_name(value):
                raise CommandFailed(f"params.{key} is not a valid session name")
            if not value.startswith(providers.SESSION_PREFIX):
                raise CommandFailed(f"params.{key} {value} is no session this orchestrator runs")
            record = next((r for r in records if r.name == value), None)
            return value, _owned(record, agent_id, spawn_id)
    for record in records:
        if agent_id and record.agent_id == agent_id:
            return record.name, _owned(record, agent_id, spawn_id)
    if spawn_id:
        name = providers.session_name(spawn_id)
        record = next((r for r in records if r.name == name), None)
        return name, _owned(record, agent_id, spawn_id)
    return None, None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _owned(
    record: SessionRecord | None, agent_id: str | None, spawn_id: str | None
) -> SessionRecord | None:
    if record is None:
        return None
    if agent_id and record.agent_id != agent_id:
        raise CommandFailed(f"session {record.name} runs agent {record.agent_id}, not {agent_id}")
    if spawn_id and record.spawn_request_id not in (None, spawn_id):
        raise CommandFailed(
            f"session {record.name} was spawned for {record.spawn_request_id}, not {spawn_id}"
        )
    return record


# -- agent.shutdown --------------------------------------------------------------------------


async def shutdown(ctx: Context, params: JSON) -> JSON:
    name, record = await find_session(ctx, params)
    if name is None:
        raise CommandFailed("no session named: give tmuxSession, sessionName or agentId")
    stopped = await stop_session(ctx, name)
    return {
        "agentId": record.agent_id if record else params.get("agentId"),
        "sessionName": name,
        "stopped": True,
        **stopped,
    }


async def stop_session(ctx: Context, name: str) -> JSON:
    """SIGTERM the session's processes, wait the grace period, then kill the session."""
    tmux = ctx.tmux
    if not await tmux.has_session(name):
        await trio.to_thread.run_sync(ctx.host.journal.drop_session, name)
        return {"alreadyStopped": True, "forced": False}
    pids = await tmux.pane_pids(name)
    _signal(pids, signal.SIGTERM)
    forced = False
    with trio.move_on_after(ctx.settings.session_grace_seconds):
        # tmux has no event for "session ended": poll it.
        while await tmux.has_session(name):  # noqa: ASYNC110
            await trio.sleep(POLL_SECONDS)
    if await tmux.has_session(name):
        forced = True
        await tmux.kill_session(name)
        _signal(pids, signal.SIGKILL)
    await trio.to_thread.run_sync(ctx.host.journal.drop_session, name)
    return {"alreadyStopped": False, "forced": forced}


def _signal(pids: list[int], signum: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            continue


# -- agent.restart (restart and resume) ------------------------------------------------------


async def restart(ctx: Context, params: JSON) -> JSON:
    spawn_params: Any = params.get("restartSpawn")
    if not isinstance(spawn_params, dict):
        raise CommandFailed("params.restartSpawn is required to restart an agent")
    merged = dict(spawn_params)
    if not merged.get("agentId") and isinstance(params.get("agentId"), str):
        merged["agentId"] = params["agentId"]
    if not merged.get("runnerToken") and isinstance(params.get("runnerToken"), str):
        merged["runnerToken"] = params["runnerToken"]
    request = SpawnRequest.parse(merged, where="params.restartSpawn")
    new_name = providers.session_name(request.spawn_request_id)
    old_name, _ = await find_session(
        ctx,
        {
            key: params.get(key)
            for key in ("tmuxSession", "sessionName", "agentId", "spawnRequestId")
        },
    )
    previous: JSON = {}
    if old_name and old_name != new_name:
        previous = await stop_session(ctx, old_name)
    result = await start_session(ctx, request)
    return {
        **result,
        "restarted": True,
        "action": params.get("action") or "restart",
        "previousSession": old_name,
        "previousStopped": previous,
    }


# -- agent.compact / agent.clearContext / agent.reconnect ------------------------------------


async def control(ctx: Context, params: JSON) -> JSON:
    action = ctx.command_type.removeprefix("agent.")
    name, record = await find_session(ctx, params)
    provider = record.provider if record else params.get("provider")
    if name is None or not await ctx.tmux.has_session(name):
        raise CommandFailed(f"no running session for this agent ({name or 'unnamed'})")
    if not isinstance(provider, str):
        raise CommandFailed(f"the provider of session {name} is unknown")
    keys = providers.control_input(provider, action)
    if keys is None:
        raise CommandFailed(f"provider {provider} has no {action} control")
    await ctx.tmux.send_text(name, keys)
    result: JSON = {"sessionName": name, "action": action, "sent": keys, "provider": provider}
    if action == "compact":
        # Typed straight after the compact: the provider queues it until the compact ends.
        tags = memory_reload.reload_tags(params)
        instruction = memory_reload.reload_instruction(tags)
        if instruction is not None:
            await ctx.tmux.send_text(name, instruction)
        result["memoryReload"] = tags
    return result


# -- for the heartbeat -----------------------------------------------------------------------


async def live_sessions(host: Host) -> list[SessionRecord]:
    """Managed sessions whose tmux session still runs (records of dead ones are dropped)."""
    records = await trio.to_thread.run_sync(host.journal.sessions)
    if not records:
        return []
    alive = await host.tmux.list_sessions()
    settled_before = now_ms() - START_GRACE_MS  # a record written just before its session
    for record in records:
        if record.name not in alive and record.started_at < settled_before:
            await trio.to_thread.run_sync(host.journal.drop_session, record.name)
    return [record for record in records if record.name in alive]
