"""Token profiles: named starting points (role and default scopes) for ``POST /api/tokens``.

- ``provider-agent`` (role ``provider``): agent:read, agent:write, command:read,
  command:write, activity:write, config:read.
- ``orchestrator`` (role ``orchestrator``): agent:read, agent:write, command:read,
  command:write, activity:read, activity:write, config:read.
- ``integration`` (role ``integration``): agent:read, command:read, activity:read,
  activity:write.
- ``dashboard`` (role ``dashboard``): every scope but token:admin.
- ``mcp`` (role ``mcp``): agent:read and the six below; what ``POST
  /api/agents/:id/mcp-token`` mints for one agent's Claude Code session.

``provider-agent``, ``orchestrator`` and ``dashboard`` also hold message:read|write,
task:read|write and memory:read|write (``RELAY_SCOPES``).

A provider agent (and the runner tokens minted for spawned sessions) reports on
itself and works its command queue; an orchestrator also reads the feed; an
integration observes and posts activity; the dashboard does everything an
operator does except minting credentials. ``role`` and ``scope`` given in the
request replace the profile's; constraints never come from a profile.
"""

from __future__ import annotations

from dataclasses import dataclass

from relay.domain.tokens import RELAY_SCOPES, SCOPES


@dataclass(frozen=True, slots=True)
class Profile:
    id: str
    role: str
    scope: tuple[str, ...]


PROVIDER_AGENT = Profile(
    id="provider-agent",
    role="provider",
    scope=(
        "agent:read",
        "agent:write",
        "command:read",
        "command:write",
        "activity:write",
        "config:read",
        *RELAY_SCOPES,
    ),
)
ORCHESTRATOR = Profile(
    id="orchestrator",
    role="orchestrator",
    scope=(
        "agent:read",
        "agent:write",
        "command:read",
        "command:write",
        "activity:read",
        "activity:write",
        "config:read",
        *RELAY_SCOPES,
    ),
)
INTEGRATION = Profile(
    id="integration",
    role="integration",
    scope=("agent:read", "command:read", "activity:read", "activity:write"),
)
DASHBOARD = Profile(
    id="dashboard",
    role="dashboard",
    scope=tuple(scope for scope in SCOPES if scope != "token:admin"),
)

MCP = Profile(id="mcp", role="mcp", scope=("agent:read", *RELAY_SCOPES))

PROFILES: dict[str, Profile] = {
    profile.id: profile for profile in (PROVIDER_AGENT, ORCHESTRATOR, INTEGRATION, DASHBOARD, MCP)
}
