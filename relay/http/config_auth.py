"""Config entries: which a caller reads, writes and removes (the config, steward and
agent-profile routes alike), judged on the entry as stored as ``relay.http.auth`` judges
agents and workspaces.

- A spawn policy is a named resource that spawns where its ``cwd`` says: a spawn or an
  automation using it spawns there without checking that cwd again. A token's
  ``policyNames`` limit which policies it touches, and its ``cwd`` limits both the policy
  as stored and any value it writes: a token limited to ``/srv/o1`` neither reads nor
  re-points nor removes the policy that spawns into ``/srv/o2``. A token limited to agents
  writes none, nor one limited to orchestrators that neither bounds.
- Relay-wide entries (``RELAY_WIDE_NAMESPACES``) steer every owner's hosts at once, so no
  constraint covers them: only a caller without constraints writes them
  (``allow_relay_wide``). Reading them takes ``config:read`` alone, as before.
- Any other namespace is read by nothing in the relay: the scope decides.
"""

from __future__ import annotations

from typing import Any, Final

from relay.auth.access import Resource, within_cwd
from relay.domain.config import (
    AGENT_PROFILES_NAMESPACE,
    SPAWN_POLICIES_NAMESPACE,
    STEWARD_NAMESPACE,
    ConfigEntry,
    ConfigRevision,
    VersionConflict,
)
from relay.errors import Conflict, Forbidden
from relay.http.auth import allow, allow_relay_wide, can_see, limited_by, principal
from relay.http.services import services
from relay.store import config as config_store

# The steward config: its ``autoMerge`` has the auto-merge job merge every owner's
# repositories. Agent profiles: the presets every operator's spawn form starts from
# (``providerArgs`` included), whoever's host the spawn then goes to.
RELAY_WIDE_NAMESPACES: Final = frozenset({STEWARD_NAMESPACE, AGENT_PROFILES_NAMESPACE})

_REMOVE: Final = object()  # ``allow_config_write`` with no value: a delete


def _policy(key: str, value: Any) -> Resource:
    """What a spawn policy touches: its name, and the cwd its value names (if any)."""
    return Resource(policy_name=key, cwd=_policy_cwd(value))


def _policy_cwd(value: Any) -> str | None:
    cwd = value.get("cwd") if isinstance(value, dict) else None
    return cwd if isinstance(cwd, str) and cwd else None


def _covers_policy(key: str, value: Any) -> bool:
    """Whether the caller's constraints cover a policy holding ``value``. A policy naming
    no cwd spawns wherever the restarted card works (``restart_spawn`` fills the cwd), on
    any host: like an agent recording no cwd (``within_cwd``) no path limit covers it,
    where ``covers`` alone would skip the unknown path."""
    return can_see(_policy(key, value)) and within_cwd(principal(), _policy_cwd(value))


def _allow_policy(key: str, value: Any) -> None:
    """403 unless the caller may touch a policy holding ``value`` (``_covers_policy``)."""
    allow(_policy(key, value))
    if not within_cwd(principal(), _policy_cwd(value)):
        raise Forbidden("forbidden")


def may_read_config(entry: ConfigEntry) -> bool:
    """For lists: whether the caller may read this stored entry (``allow_config_read``)."""
    return entry.namespace != SPAWN_POLICIES_NAMESPACE or _covers_policy(entry.key, entry.value)


def allow_config_read(namespace: str, key: str, stored: ConfigEntry | None) -> None:
    """403 unless the caller may read the entry ``stored`` at ``(namespace, key)`` (None:
    there is none, and only the key is judged, so an unknown policy name outside the
    caller's ``policyNames`` stays 403, not 404)."""
    if namespace != SPAWN_POLICIES_NAMESPACE:
        return
    if stored is None:
        allow(_policy(key, None))
    else:
        _allow_policy(key, stored.value)


def allow_config_history(namespace: str, key: str, revisions: list[ConfigRevision]) -> None:
    """403 unless the caller may read every revision it is shown: a policy's history holds
    the values it had, each a cwd the caller reads."""
    allow_config_read(namespace, key, None)
    for revision in revisions:
        if namespace == SPAWN_POLICIES_NAMESPACE and revision.value is not None:
            _allow_policy(key, revision.value)


async def allow_config_write(
    namespace: str, key: str, expected_version: int | None, value: Any = _REMOVE
) -> int | None:
    """403 unless the caller may write ``value`` at ``(namespace, key)`` (no value: remove
    the entry). Returns the ``expectedVersion`` the write must carry.

    For a caller limited by ``cwd`` a spawn policy is judged as stored, and the write is
    pinned to the version judged: a policy changed in between is refused with 409, never
    overwritten or removed unjudged.
    """
    if namespace in RELAY_WIDE_NAMESPACES:
        allow_relay_wide()
        return expected_version
    if namespace != SPAWN_POLICIES_NAMESPACE:
        return expected_version
    # A policy is relay-wide but for the names and paths a caller's own constraints bound:
    # a token limited to agents steers no host, and one limited otherwise (orchestrators
    # alone, spawn requests alone) would steer every other host's restarts and
    # automations through it.
    bounded = limited_by("policyNames") or limited_by("cwd")
    if limited_by("agents") or (principal().constrained and not bounded):
        raise Forbidden("forbidden")
    if value is _REMOVE:
        allow(_policy(key, None))
    else:
        _allow_policy(key, value)
    if not limited_by("cwd"):
        return expected_version  # the name alone, checked above, is judged on the key
    stored = await services().runtime.store.run(lambda: config_store.get(namespace, key))
    allow_config_read(namespace, key, stored)
    judged = stored.version if stored is not None else 0  # 0: absent
    if expected_version is not None and expected_version != judged:
        raise Conflict(VersionConflict(judged).message)
    return judged
