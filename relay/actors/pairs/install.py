"""How the pair aggregate plugs into the runtime."""

from __future__ import annotations

from relay.actors.pairs.actor import PairActor, PairPartiesActor
from relay.actors.pairs.messages import KIND, PARTIES_KIND
from relay.actors.runtime import Runtime


def install(runtime: Runtime) -> None:
    """One PairActor per pair; one PairPartiesActor (which agent is in which open pair)."""
    runtime.registry.register_kind(KIND, lambda key: PairActor.start(key, runtime), pooled=True)
    runtime.registry.register_kind(PARTIES_KIND, lambda key: PairPartiesActor.start(key, runtime))
