"""What every actor is given: the store, the clock, the settings, the registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from relay.clock import Clock
from relay.events import EventHub
from relay.settings import Settings
from relay.store.thread import StoreThread

if TYPE_CHECKING:
    from relay.actors.registry import ActorRegistry


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    store: StoreThread
    registry: ActorRegistry
    events: EventHub
