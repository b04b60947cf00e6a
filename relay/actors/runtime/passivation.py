"""The idle sweep: actors unused for a while stop, so live threads follow the active set."""

from __future__ import annotations

import logging

import trio

from relay.actors.runtime.registry import ActorRegistry, passivate

log = logging.getLogger("relay.actors")

# Each Passivate wakes an actor thread that then contends for the GIL: a sweep over
# thousands of idle actors is paced in batches so requests keep being served meanwhile.
BATCH = 64
PAUSE_S = 0.005


async def passivate_idle_actors(registry: ActorRegistry, idle_seconds: float) -> None:
    """Sweep every ``idle_seconds / 2`` (at least every 0.5 s) until cancelled."""
    while True:
        await trio.sleep(max(idle_seconds / 2, 0.5))
        try:
            await sweep(registry, idle_seconds)
        except Exception:  # a background loop: a bug here is logged, never ends the relay
            log.exception("passivate_sweep_failed")


async def sweep(registry: ActorRegistry, idle_seconds: float) -> int:
    """Tell every idle candidate to stop, ``BATCH`` at a time; returns how many were told."""
    refs = registry.idle_refs(idle_seconds)
    for start in range(0, len(refs), BATCH):
        for ref in refs[start : start + BATCH]:
            passivate(ref, idle_seconds)
        await trio.sleep(PAUSE_S)
    return len(refs)
