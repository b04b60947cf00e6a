"""The stale rule over many aggregates: candidates from the store, the verdict from each actor."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from relay.actors.runtime.bridge import Ask
from relay.actors.runtime.context import Runtime
from relay.domain.agents import Presence

T = TypeVar("T")
DueForReaping = Callable[[int, int], Awaitable[list[str]]]


async def reap(
    rt: Runtime,
    kind: str,
    message: Ask[T | None],
    due_for_reaping: DueForReaping,
    stale_seconds: float,
    offline_seconds: float,
) -> list[T]:
    """Apply the stale rule to every candidate the store nominates; return what changed.

    The store query only nominates candidates; each actor re-checks the rule on its own
    state, so a heartbeat racing the reaper always wins.
    """
    now = rt.clock.now_ms()
    stale_before = now - int(stale_seconds * 1000)
    offline_before = now - int(offline_seconds * 1000)
    candidates = await rt.store.run(lambda: due_for_reaping(stale_before, offline_before))
    changed: list[T] = []
    for key in candidates:
        reaped = await rt.registry.ask(kind, key, message)
        if reaped is not None:
            changed.append(reaped)
    return changed


def presence_after_silence(
    status: Presence,
    last_seen_at: int,
    now: int,
    *,
    stale_after_s: float,
    offline_after_s: float,
) -> Presence:
    """Where a silent component stands: online → stale → offline; only a heartbeat revives it."""
    if status == "offline":
        return "offline"
    silent_ms = now - last_seen_at
    if silent_ms >= offline_after_s * 1000:
        return "offline"
    if silent_ms >= stale_after_s * 1000:
        return "stale"
    return status
