"""Which of an agent card's meta fields steer its host, and whether a write changes them.

The daemon finds a session by ``tmuxSession`` or ``sessionName`` before ``agentId``, and a
restart's ``restartSpawn`` is built from the card (``action_rules``): on a runner-managed
card these fields decide what the host stops, restarts and types into.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from relay.auth.access import paths_cover
from relay.domain.agents import stored_cwd

# What the host addresses, and respawns, a session by (the daemon finds a session by
# tmuxSession or sessionName before agentId; restartSpawn is built from the rest). Written
# by whoever may steer the host (the orchestrator registering its session, an operator);
# never by a token limited to agents, which could point its own shutdown, restart or wake
# at another session of the host, or respawn itself elsewhere (or as another provider).
HOST_META_KEYS = frozenset(
    {
        "provider",
        "runnerManaged",
        "sessionName",
        "tmuxSession",
        "spawnRequestId",
        "cwd",
        "providerArgs",
        "policyName",
        "workspaceMode",
    }
)


def runner_managed(meta: Mapping[str, Any]) -> bool:
    """Whether a card with this meta is a session a host runs: ``runnerManaged`` is
    ``true`` (nothing else counts, ``1`` included)."""
    return meta.get("runnerManaged") is True


def host_meta_changes(stored: Mapping[str, Any], given: Mapping[str, Any] | None) -> list[str]:
    """The ``HOST_META_KEYS`` that ``given`` (a registration's or a patch's meta) sets to a
    value other than the stored one, sorted; a repeat of what is stored changes nothing.
    Compared as JSON, type and all: ``1`` is not ``true`` (``is_runner_managed`` reads
    ``true`` only, so ``1`` would unmanage the session and send its shutdown elsewhere).

    Only a runner-managed card's keys steer a host (lifecycle commands and wakes go through
    an orchestrator only for those): on another card they change nothing but
    ``runnerManaged`` itself, so an agent registering itself may describe itself freely.
    """
    if not given:
        return []
    changed = sorted(
        key
        for key in HOST_META_KEYS
        if key in given and _as_json(given[key]) != _as_json(stored.get(key))
    )
    if runner_managed(stored) or "runnerManaged" in changed:
        return changed
    return []


def steers_host(
    stored_meta: Mapping[str, Any],
    stored_orchestrator: str | None,
    meta: Mapping[str, Any] | None,
    orchestrator_id: str | None = None,
) -> bool:
    """Whether a write by a caller limited to agents would steer a host: change a
    ``HOST_META_KEYS`` field (``host_meta_changes``), or move an agent placed under an
    orchestrator to another (its restarts and wakes would go there). Placing an agent
    under none yet is its own token's to do. Judged by the agent's actor on the card it
    holds, so no write queued before it can slip between the check and the change."""
    if host_meta_changes(stored_meta, meta):
        return True
    return (
        orchestrator_id is not None
        and stored_orchestrator is not None
        and stored_orchestrator != orchestrator_id
    )


def moves_past_paths(
    paths: Sequence[str], stored_meta: Mapping[str, Any] | None, meta: Mapping[str, Any]
) -> bool:
    """Whether a write by a caller limited to ``paths`` changes a card's working directory
    (``stored_cwd``: ``stored_meta`` is the card held, None for a new one; ``meta`` the
    card written) from or to a place they do not cover. Such a caller acts for an agent by
    that directory (``access.acts_for``): pointing one that works elsewhere, or nowhere
    recorded, into its paths would hand it that agent's inbox. A write that leaves the
    directory as stored passes. A new card must be at a place the paths cover: one at no
    place (or outside them) is a card its writer cannot read from then on, whose id it
    has taken from the host whose session would have registered under it."""
    after = stored_cwd(meta)
    if stored_meta is None:
        return not paths_cover(paths, after)
    before = stored_cwd(stored_meta)
    if before == after:
        return False
    return not paths_cover(paths, before) or not paths_cover(paths, after)


def _as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


# The card's meta fields a lifecycle action is judged on by a constraint (``access.covers``
# through the action's resource): the field, and the constraint naming its values.
LABEL_CONSTRAINTS = (("policyName", "policyNames"), ("spawnRequestId", "spawnRequestIds"))


def _label(meta: Mapping[str, Any] | None, field: str) -> str | None:
    # As the action route reads it (``_meta_text``): text, else unset.
    value = meta.get(field) if meta else None
    return value if isinstance(value, str) and value else None


def relabels_past(
    labels: Sequence[tuple[str, Sequence[str]]],
    stored_meta: Mapping[str, Any] | None,
    meta: Mapping[str, Any],
) -> bool:
    """Whether a write by a caller whose constraints allow only ``labels`` (field, values)
    changes one of those fields of a card (``stored_meta``: the card held, None for a new
    one) from or to a value they do not allow. Its actions are judged on the stored
    field: rewriting it first would hand it another policy's, or another spawn's, agent.
    Unset is allowed, as ``covers`` skips it."""
    for field, allowed in labels:
        before, after = _label(stored_meta, field), _label(meta, field)
        if before != after and any(v is not None and v not in allowed for v in (before, after)):
            return True
    return False
