"""What every actor is given: the store, the clock, the settings, the registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from relay.actors.doorbell import Doorbells
from relay.actors.routing import Routing
from relay.actors.settle import SettleHooks
from relay.clock import Clock
from relay.events import EventHub
from relay.maintenance.scheduler import Maintenance
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
    doorbells: Doorbells = field(default_factory=Doorbells)
    settle_hooks: SettleHooks = field(default_factory=SettleHooks)
    maintenance: Maintenance = field(default_factory=Maintenance)
    routing: Routing = field(default_factory=Routing)
