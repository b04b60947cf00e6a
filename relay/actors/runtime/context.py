"""What every actor is given: the store, the clock, the settings, the registry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from relay.actors.runtime.admission import Admission
from relay.actors.runtime.directory import AgentDirectory
from relay.actors.runtime.doorbell import Doorbells
from relay.actors.runtime.handoff import Handoffs
from relay.actors.runtime.routing import Routing
from relay.actors.runtime.schedule import Maintenance
from relay.actors.runtime.settle import SettleHooks
from relay.clock import Clock
from relay.events import EventHub
from relay.settings import Settings
from relay.store.thread import StoreThread

if TYPE_CHECKING:
    from relay.actors.runtime.registry import ActorRegistry
    from relay.auth.authenticator import Authenticator


Recovery = Callable[["Runtime"], Awaitable[Any]]
"""A start-up step: finishes what a stop (a ``kill -9`` too) left half done."""


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    store: StoreThread
    registry: ActorRegistry
    events: EventHub
    doorbells: Doorbells = field(default_factory=Doorbells)
    # Long-polls waiting for an actor to hand them what it queues next (an inbox's delivery).
    handoffs: Handoffs = field(default_factory=Handoffs)
    settle_hooks: SettleHooks = field(default_factory=SettleHooks)
    maintenance: Maintenance = field(default_factory=Maintenance)
    routing: Routing = field(default_factory=Routing)
    # Each agent's orchestrator and runner flag as its actor holds them (authorization and
    # sends read no card from the store for an agent found here).
    agents: AgentDirectory = field(default_factory=AgentDirectory)
    # Run in order once the store is open, before the relay serves or its schedule runs.
    recoveries: list[Recovery] = field(default_factory=list)
    # Set once the relay is told to stop (trio thread): waits that would hold the HTTP
    # server's graceful shutdown open end now, with what they have.
    draining: trio.Event = field(default_factory=trio.Event)
    # Set by the app: what mints tokens where no request brings it (an automation's spawn).
    authenticator: Authenticator | None = None
    # The relay's own secrets (root token, signing secret, integration tokens), set once
    # they are known: memory redaction replaces them wherever they are written.
    credentials: tuple[str, ...] = ()
    # Sends handled at once (routes and MCP tools): past the bound one is refused, 503.
    sends: Admission = field(init=False)

    def __post_init__(self) -> None:
        self.sends = Admission(self.settings.max_sends_in_flight)

    def begin_draining(self) -> None:
        """End long-polls, WebSocket channels and event streams (trio thread; idempotent).

        The HTTP server stops accepting, then waits for open requests before the app
        stops. Long-polls (up to a minute), command channels and SSE streams never end
        on their own: without this, every stop took the whole graceful timeout and their
        clients saw a dropped connection instead of an answer.
        """
        if self.draining.is_set():
            return
        self.draining.set()
        self.doorbells.ring_all()
        self.events.end_streams()
