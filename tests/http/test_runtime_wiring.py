"""What the app adds to the runtime: an ask that times out is a 503, and a serving app
sweeps idle actors on its own (it runs the runtime in the nursery it serves in).

Moved here from tests/actors, whose tests run the runtime without a web app.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, cast

import pykka
import pytest
import trio
from quart_trio import QuartTrio

from relay.actors.runtime.bridge import Ask, RelayActor
from relay.http import services as http_services
from relay.http.services import EXTENSION, Services
from tests.conftest import root_headers, services_of

H = root_headers()

STOP_TIMEOUT_S = 5


class Blocked(RelayActor):
    """Never replies until the test opens the gate (an actor stuck on something slow)."""

    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.gate = gate

    def on_receive(self, message: Any) -> Any:
        self.gate.wait()
        return message


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # release a blocked actor so it can stop


async def test_ask_timeout_is_503_with_retry_after(open_app: Any, gate: threading.Event) -> None:
    def setup(app: QuartTrio) -> None:
        svc: Services = app.extensions[EXTENSION]
        svc.runtime.registry.register_kind("slow", lambda _key: Blocked.start(gate))

        async def slow() -> Any:
            # A short timeout for this ask only: the app's own asks keep the default.
            registry = http_services.services().runtime.registry
            return await registry.ask("slow", "k", cast("Ask[Any]", "ping"), timeout=0.05)

        app.add_url_rule("/api/test-slow", "test_slow", slow)

    async with open_app(setup=setup) as app:
        try:
            response = await app.test_client().get("/api/test-slow")
        finally:
            gate.set()  # let the actor finish, so stopping the app does not wait on it
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert await response.get_json() == {"error": "slow actor timed out"}


async def wait_stopped(ref: pykka.ActorRef[Any]) -> None:
    stopped = await trio.to_thread.run_sync(ref.actor_stopped.wait, STOP_TIMEOUT_S)
    assert stopped, "the actor did not stop"


async def test_app_passivates_idle_actors_by_itself(open_app: Any) -> None:
    # actor_idle_seconds is tiny; the sweep runs every max(idle / 2, 0.5) s of real time.
    async with open_app(actor_idle_seconds=0.01) as app:
        registry = services_of(app).runtime.registry
        await app.test_client().post("/api/agents", json={"id": "a1"}, headers=H)
        ref = registry.ref("agent", "a1")
        await wait_stopped(ref)
        assert not registry.is_live("agent", "a1")
