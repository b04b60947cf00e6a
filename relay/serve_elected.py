"""Serving on PostgreSQL as one member of the leader election.

The relay serves at once through the standby gate (``relay.http.standby``); only once it
wins does it start the app's lifespan (store, migrations, actors, recoveries, schedule) —
the very start-up a restart runs — and let the gate through. Losing leadership stops it.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import trio
from hypercorn.config import Config, Sockets
from hypercorn.trio.run import worker_serve
from hypercorn.utils import wrap_app

from relay.domain.leadership import LeaseTimes
from relay.election import Elector, Leadership
from relay.gc_policy import tune_for_serving
from relay.http.app import create_app
from relay.http.services import EXTENSION, Services
from relay.http.standby import StandbyGate
from relay.settings import Settings
from relay.startup import LeadershipLost, StartupError, one_line
from relay.stopping import first_of
from relay.store.leader_lease import LeaseStore, member_id
from relay.store.schema import redacted

log = logging.getLogger("relay")


def advertised_url(settings: Settings, sockets: Sockets) -> str:
    """``RELAY_ADVERTISE_URL``, else ``http://HOST:PORT`` with the port really bound.

    A wildcard bind address is no address a client can use: the host's name stands in.
    """
    if settings.advertise_url:
        return settings.advertise_url
    port = sockets.insecure_sockets[0].getsockname()[1] if sockets.insecure_sockets else 0
    host = settings.host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - naming a wildcard, not binding one
        host = socket.gethostname()
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class InnerLifespan:
    """Drives the real app's ASGI lifespan ourselves, once this process is elected, since
    hypercorn's lifespan (answered by the gate) ran when the process started serving."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.started = False
        self._to_app, self._app_receives = trio.open_memory_channel[dict[str, Any]](1)
        self._app_sends, self._from_app = trio.open_memory_channel[dict[str, Any]](1)

    async def start(self, nursery: trio.Nursery) -> None:
        """Run the app's start-up in a task of ``nursery``, which must outlive ``stop``.

        Raises:
            StartupError: the app's start-up failed (the message says why).
        """
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        nursery.start_soon(self._run, scope)
        await self._to_app.send({"type": "lifespan.startup"})
        try:
            answer = await self._from_app.receive()
        except trio.EndOfChannel:
            answer = {"type": "lifespan.startup.failed", "message": "the app's lifespan ended"}
        if answer["type"] != "lifespan.startup.complete":
            raise StartupError(f"the relay could not start: {answer.get('message', 'unknown')}")
        self.started = True

    async def _run(self, scope: dict[str, Any]) -> None:
        # quart-trio's shutdown cancels its own nursery, whose body is the lifespan loop: it
        # may return without sending ``shutdown.complete``. Closing the channel says so.
        async with self._app_sends:
            await self.app(scope, self._app_receives.receive, self._app_sends.send)

    async def stop(self) -> None:
        """Run the app's shutdown (actors write back, the store closes), if it started."""
        if not self.started:
            return
        self.started = False
        await self._to_app.send({"type": "lifespan.shutdown"})
        with contextlib.suppress(trio.EndOfChannel):
            await self._from_app.receive()


async def serve_elected(
    settings: Settings,
    config: Config,
    sockets: Sockets,
    stop_when: Callable[[], Awaitable[None]],
    on_listening: Callable[[list[str]], None] | None,
    on_leadership_lost: Callable[[], None] | None,
    task_status: trio.TaskStatus[list[str]],
) -> None:
    """Serve on PostgreSQL as one member of the election (see the module's docstring)."""
    database_url = settings.resolved_database_url()
    me = member_id()
    leadership = Leadership(
        self_id=me,
        self_url=advertised_url(settings, sockets),
        times=LeaseTimes(
            lease=settings.leader_lease_seconds,
            renew_deadline=settings.leader_renew_deadline_seconds,
            retry=settings.leader_retry_seconds,
        ),
    )
    lease_store = LeaseStore(
        database_url,
        application_name=f"relay {me}",
        idle_in_transaction_seconds=settings.leader_renew_deadline_seconds,
    )
    elector = Elector(lease_store, leadership)
    try:
        try:
            await elector.prepare()
        except Exception as exc:
            raise StartupError(
                f"cannot open the database {redacted(database_url)}: {one_line(exc)}"
            ) from None
        try:
            await _serve_gated(
                settings,
                config,
                sockets,
                leadership,
                elector,
                stop_when,
                on_listening,
                on_leadership_lost,
                task_status,
            )
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(10):
                await elector.resign()
    finally:
        await trio.to_thread.run_sync(lease_store.close)
    if leadership.lost_reason is not None:
        raise LeadershipLost(leadership.lost_reason)


async def _serve_gated(
    settings: Settings,
    config: Config,
    sockets: Sockets,
    leadership: Leadership,
    elector: Elector,
    stop_when: Callable[[], Awaitable[None]],
    on_listening: Callable[[list[str]], None] | None,
    on_leadership_lost: Callable[[], None] | None,
    task_status: trio.TaskStatus[list[str]],
) -> None:
    app = create_app(settings, leadership=leadership)
    services: Services = app.extensions[EXTENSION]
    runtime = services.runtime
    store = runtime.store
    store.on_deposed = lambda exc: leadership.lose(str(exc))
    gate = StandbyGate(app, leadership)
    inner = InnerLifespan(app)

    @app.before_serving
    async def tune_garbage_collection() -> None:
        tune_for_serving()

    async def shutdown_trigger() -> None:
        await first_of(stop_when, leadership.lost.wait)
        if leadership.lost.is_set() and on_leadership_lost is not None:
            on_leadership_lost()
        runtime.begin_draining()

    async def activate(nursery: trio.Nursery) -> None:
        await leadership.won.wait()
        store.fence_epoch = leadership.epoch
        try:
            await inner.start(nursery)
        except StartupError as exc:
            leadership.lose(str(exc))
            return
        if leadership.lost.is_set():
            return
        leadership.role = "active"
        gate.open()
        log.info("relay_active epoch=%s url=%s", leadership.epoch, leadership.self_url)

    try:
        async with trio.open_nursery() as nursery:

            async def serve_then_stop(task_status: trio.TaskStatus[list[str]]) -> None:
                await worker_serve(
                    wrap_app(gate, config.wsgi_max_body_size, None),
                    config,
                    sockets=sockets,
                    shutdown_trigger=shutdown_trigger,
                    task_status=task_status,
                )
                # Served requests are over: stop the app (actors write back, the store
                # closes), then the election and the activation.
                with trio.CancelScope(shield=True):
                    await inner.stop()
                nursery.cancel_scope.cancel()

            nursery.start_soon(elector.run)
            nursery.start_soon(activate, nursery)
            binds: list[str] = await nursery.start(serve_then_stop)
            log.info("relay_standby url=%s", leadership.self_url)
            if on_listening is not None:
                on_listening(binds)
            task_status.started(binds)
    finally:
        await trio.to_thread.run_sync(store.stop)
