"""The body of ``POST /api/orchestrators/:id/spawn``: what the route parses, and what an
automation's ``spawn_agent`` action (a spawn policy's value, its ``cwd`` and ``label``
overriding) is held to before it is queued."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from relay.domain.bodies import Body


class SpawnBody(Body):
    provider: Literal["claude", "codex", "command"]
    model: str | None = Field(default=None, max_length=200)
    label: str | None = Field(default=None, max_length=200)
    cwd: str = Field(min_length=1, max_length=4096)
    policy_name: str | None = Field(default=None, max_length=200)
    provider_args: list[str] | None = Field(default=None, max_length=100)
    workspace_mode: Literal["isolated", "shared", "inherit"] | None = None
    command: list[str] | None = Field(default=None, max_length=100)
