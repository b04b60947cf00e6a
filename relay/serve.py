"""Running the app under hypercorn's trio worker until SIGINT/SIGTERM.

hypercorn's ``serve`` binds only after the app's start-up (store open, migrations run);
relay binds first and hands hypercorn the listening sockets through ``worker_serve``, the
function hypercorn's own trio worker calls with the sockets it bound.

On SQLite the relay takes the store's instance lock, opens the store and serves the app.
On PostgreSQL it takes part in the leader election (``relay.election``) instead: it serves
at once through the standby gate (``relay.http.standby``), and only once it wins does it
start the app's lifespan (store, migrations, actors, recoveries, schedule) — the very
start-up a restart runs — and let the gate through.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import trio
from hypercorn.config import Config, Sockets
from hypercorn.trio.run import worker_serve
from hypercorn.utils import wrap_app

from relay.domain.leadership import LeaseTimes
from relay.election import Elector, Leadership
from relay.gc_policy import tune_for_serving
from relay.http.app import create_app
from relay.http.connection import use_in_hypercorn
from relay.http.services import EXTENSION, Services
from relay.http.standby import StandbyGate
from relay.settings import Settings
from relay.startup import LeadershipLost, StartupError, Unguarded, one_line
from relay.store.instance_lock import (
    InstanceLock,
    InstanceLockHeld,
    InstanceLockLost,
    acquire_instance_lock,
)
from relay.store.leader_lease import LeaseStore, member_id
from relay.store.schema import redacted, sqlite_path

log = logging.getLogger("relay")


@asynccontextmanager
async def open_stop_signals() -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Catch SIGINT and SIGTERM from now on; yields a wait that returns on the first one.

    Opened before start-up, so a signal that arrives while the relay starts (or just after
    it said where it listens) stops it gracefully once it serves, instead of killing it.
    """
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:

        async def signalled() -> None:
            async for signum in signals:
                log.info("relay_stopping signal=%s", signal.Signals(signum).name)
                return

        yield signalled


async def first_of(*waits: Callable[[], Awaitable[None]]) -> None:
    """Return once the first of ``waits`` returns; the others are cancelled."""
    async with trio.open_nursery() as nursery:

        async def until(wait: Callable[[], Awaitable[None]]) -> None:
            await wait()
            nursery.cancel_scope.cancel()

        for wait in waits:
            nursery.start_soon(until, wait)


def hypercorn_config(settings: Settings) -> Config:
    config = Config()
    config.bind = [f"{settings.host}:{settings.port}"]
    config.accesslog = None  # relay.access logs one structured line per request
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = settings.shutdown_grace_seconds
    config.keep_alive_timeout = settings.keep_alive_seconds
    return config


async def serve(
    settings: Settings,
    *,
    stop_when: Callable[[], Awaitable[None]],
    on_listening: Callable[[list[str]], None] | None = None,
    on_leadership_lost: Callable[[], None] | None = None,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Bind, take the store's instance lock, open the store, serve until ``stop_when()``.

    (On PostgreSQL: bind, serve as a standby, and start the app once elected; see the
    module's docstring.) ``on_leadership_lost`` is called, on the trio thread, as soon as an
    active relay loses leadership, before it stops.

    In that order, so a relay that cannot listen never touches the store, and a second relay
    on a store never migrates it. ``on_listening`` and ``task_status.started`` receive the
    bound addresses (the real port, also for port 0) once the relay serves. The app's
    ``after_serving`` stops the actors and closes the store.

    Raises:
        StartupError: the relay could not start (one line: what and why).
        Unguarded: the instance lock was lost while serving, so the relay stopped.
        LeadershipLost: (PostgreSQL) this active relay lost leadership and stopped.
    """
    use_in_hypercorn()
    config = hypercorn_config(settings)
    sockets = bind(config, f"{settings.host}:{settings.port}")
    database_url = settings.resolved_database_url()
    if sqlite_path(database_url) is None:
        try:
            await serve_elected(
                settings, config, sockets, stop_when, on_listening, on_leadership_lost, task_status
            )
        finally:
            for sock in sockets.insecure_sockets:
                sock.close()
        return
    try:
        lock = await take_instance_lock(database_url)
        try:
            lost = await _serve_locked(
                settings, config, sockets, lock, stop_when, on_listening, task_status
            )
        finally:
            await trio.to_thread.run_sync(lock.release)
    finally:
        for sock in sockets.insecure_sockets:
            sock.close()
    if lost is not None:
        raise Unguarded(str(lost))


def bind(config: Config, where: str) -> Sockets:
    """Bind and listen on ``config.bind`` now, before anything else starts.

    Raises:
        StartupError: the address is in use, not local, or not an address.
    """
    try:
        sockets = config.create_sockets()
        for sock in sockets.insecure_sockets:
            sock.listen(config.backlog)
    except OSError as exc:
        raise StartupError(f"cannot listen on {where}: {exc.strerror or one_line(exc)}") from None
    return sockets


async def take_instance_lock(database_url: str) -> InstanceLock:
    """Take the store's instance lock (see ``relay.store.instance_lock``).

    Raises:
        StartupError: another relay holds it, or the database cannot be reached.
    """
    try:
        return await trio.to_thread.run_sync(acquire_instance_lock, database_url)
    except InstanceLockHeld as exc:
        raise StartupError(str(exc)) from None
    except Exception as exc:
        where = redacted(database_url)
        raise StartupError(f"cannot open the database {where}: {one_line(exc)}") from None


async def _serve_locked(
    settings: Settings,
    config: Config,
    sockets: Sockets,
    lock: InstanceLock,
    stop_when: Callable[[], Awaitable[None]],
    on_listening: Callable[[list[str]], None] | None,
    task_status: trio.TaskStatus[list[str]],
) -> InstanceLockLost | None:
    app = create_app(settings)
    services: Services = app.extensions[EXTENSION]
    runtime = services.runtime
    store = runtime.store
    lost: list[InstanceLockLost] = []

    @app.before_serving
    async def tune_garbage_collection() -> None:
        tune_for_serving()

    async def shutdown_trigger() -> None:
        await first_of(
            stop_when, partial(watch_lock, lock, settings.instance_lock_check_seconds, lost)
        )
        # Before hypercorn waits for the requests still open: long-polls, command channels
        # and event streams answer and end now, rather than at the graceful timeout.
        runtime.begin_draining()

    try:
        await trio.to_thread.run_sync(store.start)
    except Exception as exc:
        raise StartupError(
            f"cannot open the database {redacted(store.database_url)}: {one_line(exc)}"
        ) from None
    try:
        async with trio.open_nursery() as nursery:
            binds: list[str] = await nursery.start(
                partial(
                    worker_serve,
                    wrap_app(app, config.wsgi_max_body_size, None),
                    config,
                    sockets=sockets,
                    shutdown_trigger=shutdown_trigger,
                )
            )
            if on_listening is not None:
                on_listening(binds)
            task_status.started(binds)
    finally:
        # Normally after_serving has closed it already; not when serving failed to start.
        await trio.to_thread.run_sync(store.stop)
    return lost[0] if lost else None


async def watch_lock(lock: InstanceLock, every: float, lost: list[InstanceLockLost]) -> None:
    """Return once ``lock`` is found lost (checked every ``every`` s), recording why."""
    while True:
        await trio.sleep(every)
        try:
            await trio.to_thread.run_sync(lock.check)
        except InstanceLockLost as exc:
            log.error("instance_lock_lost reason=%s action=stopping", one_line(exc))
            lost.append(exc)
            return


def run(settings: Settings, *, on_listening: Callable[[list[str]], None] | None = None) -> None:
    """Serve in this thread until SIGINT/SIGTERM (see ``serve`` for what it raises)."""

    def exit_if_stuck() -> None:
        # A deposed relay must not linger: if stopping hangs (on a database that is gone,
        # most often), leave anyway once requests had their grace and the store its timeout.
        deadline = settings.shutdown_grace_seconds + settings.store_timeout_seconds + 5
        timer = threading.Timer(deadline, os._exit, (3,))
        timer.daemon = True
        timer.start()

    async def main() -> None:
        async with open_stop_signals() as signalled:
            await serve(
                settings,
                stop_when=signalled,
                on_listening=on_listening,
                on_leadership_lost=exit_if_stuck,
            )

    trio.run(main)


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
