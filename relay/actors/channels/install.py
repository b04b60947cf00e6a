"""How the channels aggregate plugs into the runtime."""

from __future__ import annotations

from relay.actors.channels.actor import ChannelActor
from relay.actors.channels.messages import KIND
from relay.actors.runtime import Runtime


def install(runtime: Runtime) -> None:
    """One ChannelActor per channel (its bindings and its last-chosen memory)."""
    runtime.registry.register_kind(KIND, lambda key: ChannelActor.start(key, runtime), pooled=True)
