"""Providers as rules: a spawn request's argv, session name, environment and controls.

Pure functions over a parsed ``SpawnRequest``; no I/O. ``claude`` and ``codex`` run
their CLI (``RELAY_CLAUDE_COMMAND`` / ``RELAY_CODEX_COMMAND``, split like a shell
would, plus ``--model`` and ``providerArgs`` as given — a resume's ``--resume <id>``
included); ``command`` runs ``params.command`` (an argv list) plus ``providerArgs``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from relay.daemon.outcome import JSON, CommandFailed

PROVIDERS = ("claude", "codex", "command")
WORKSPACE_MODES = ("isolated", "shared", "inherit")
SESSION_PREFIX = "relay-"

# What a provider's own input is for a control action; a missing entry: no such control.
CONTROLS: dict[str, dict[str, str]] = {
    "claude": {"compact": "/compact", "clearContext": "/clear"},
    "codex": {"compact": "/compact", "clearContext": "/new"},
    "command": {},
}
CONTROL_ACTIONS = ("compact", "clearContext", "reconnect")

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_.:-]+")
MAX_ARGS = 200


@dataclass(frozen=True, slots=True)
class SpawnRequest:
    spawn_request_id: str
    provider: str
    cwd: str
    model: str | None = None
    label: str | None = None
    policy_name: str | None = None
    provider_args: tuple[str, ...] = ()
    workspace_mode: str | None = None
    command: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    agent_id: str | None = None
    runner_token: str | None = None

    @classmethod
    def parse(cls, params: JSON, *, where: str = "params") -> SpawnRequest:
        """Validate spawn params; raises ``CommandFailed`` naming the bad field."""
        spawn_id = _text(params, "spawnRequestId", where, required=True)
        provider = _text(params, "provider", where, required=True)
        if provider not in PROVIDERS:
            raise CommandFailed(f"{where}.provider must be one of {', '.join(PROVIDERS)}")
        mode = _text(params, "workspaceMode", where)
        if mode is not None and mode not in WORKSPACE_MODES:
            raise CommandFailed(
                f"{where}.workspaceMode must be one of {', '.join(WORKSPACE_MODES)}"
            )
        command = _argv(params.get("command"), f"{where}.command")
        if provider == "command" and not command:
            raise CommandFailed(f"{where}.command (an argv list) is required for provider command")
        return cls(
            spawn_request_id=spawn_id or "",
            provider=provider or "",
            cwd=_text(params, "cwd", where, required=True) or "",
            model=_text(params, "model", where),
            label=_text(params, "label", where),
            policy_name=_text(params, "policyName", where),
            provider_args=_argv(params.get("providerArgs"), f"{where}.providerArgs"),
            workspace_mode=mode,
            command=command,
            env=_env(params.get("env"), f"{where}.env"),
            agent_id=_text(params, "agentId", where),
            runner_token=_text(params, "runnerToken", where),
        )


def build_argv(request: SpawnRequest, *, claude_command: str, codex_command: str) -> list[str]:
    """The argv the session runs (no shell involved)."""
    if request.provider == "command":
        return [*request.command, *request.provider_args]
    base = claude_command if request.provider == "claude" else codex_command
    argv = shlex.split(base)
    if not argv:
        raise CommandFailed(f"the {request.provider} command is empty")
    if request.model:
        argv += ["--model", request.model]
    return [*argv, *request.provider_args]


def session_name(spawn_request_id: str) -> str:
    """A tmux session name from the spawn request: stable, so a retried spawn finds it."""
    return SESSION_PREFIX + (_UNSAFE.sub("-", spawn_request_id).strip("-")[:80] or "session")


def valid_session_name(name: str) -> bool:
    return bool(name) and len(name) <= 200 and _UNSAFE.search(name) is None


def agent_id_for(request: SpawnRequest) -> str:
    """The agent id the session is registered under: given, else from the spawn request."""
    if request.agent_id:
        return request.agent_id
    return "agent-" + (_UNSAFE.sub("-", request.spawn_request_id).strip("-")[:120] or "session")


def workspace_id_for(spawn_request_id: str) -> str:
    """The id of a spawn's isolated workspace (stable, within the relay's id pattern)."""
    return "ws-" + (_UNSAFE_ID.sub("-", spawn_request_id)[:60] or "spawn")


def short_id(spawn_request_id: str) -> str:
    cleaned = _UNSAFE.sub("", spawn_request_id.removeprefix("sp_"))
    return (cleaned[:8] or "x").lower()


def slug(text: str) -> str:
    return _UNSAFE.sub("-", text).strip("-").lower()[:40]


def session_env(
    request: SpawnRequest,
    *,
    relay_url: str,
    agent_id: str,
    orchestrator_id: str,
    session: str,
    workspace_id: str | None = None,
) -> dict[str, str]:
    """The session's environment on top of the host's (the host's RELAY_* never leak in)."""
    env = dict(request.env)
    env.update(
        {
            "RELAY_URL": relay_url,
            "RELAY_AGENT_ID": agent_id,
            "RELAY_ORCHESTRATOR_ID": orchestrator_id,
            "RELAY_SPAWN_REQUEST_ID": request.spawn_request_id,
            "RELAY_SESSION_NAME": session,
            "RELAY_PROVIDER": request.provider,
        }
    )
    if request.runner_token:
        env["RELAY_TOKEN"] = request.runner_token
    else:
        env.pop("RELAY_TOKEN", None)
    if workspace_id:
        env["RELAY_WORKSPACE_ID"] = workspace_id
    return env


def control_input(provider: str, action: str) -> str | None:
    """The text that performs ``action`` in the provider's session, or None."""
    return CONTROLS.get(provider, {}).get(action)


def lifecycle_capabilities(provider: str) -> JSON:
    controls = CONTROLS.get(provider, {})
    return {
        "restartHard": True,
        "shutdown": True,
        "reconnect": "reconnect" in controls,
        "compact": "compact" in controls,
        "clearContext": "clearContext" in controls,
    }


def _text(params: JSON, key: str, where: str, *, required: bool = False) -> str | None:
    value: Any = params.get(key)
    if value is None or value == "":
        if required:
            raise CommandFailed(f"{where}.{key} is required")
        return None
    if not isinstance(value, str):
        raise CommandFailed(f"{where}.{key} must be a string")
    if "\x00" in value or len(value) > 8192:
        raise CommandFailed(f"{where}.{key} is not a usable value")
    return value


def _argv(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise CommandFailed(f"{where} must be a list of strings")
    if len(value) > MAX_ARGS or any("\x00" in item for item in value):
        raise CommandFailed(f"{where} is not a usable argument list")
    return tuple(value)


def _env(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CommandFailed(f"{where} must be an object of strings")
    env: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(item, str) or not _ENV_NAME.match(str(key)) or "\x00" in item:
            raise CommandFailed(f"{where}.{key} is not a valid environment variable")
        env[str(key)] = item
    return env
