"""Running the app under hypercorn's trio worker until SIGINT/SIGTERM.

hypercorn's ``serve`` binds only after the app's start-up (store open, migrations run);
relay binds first and hands hypercorn the listening sockets through ``worker_serve``, the
function hypercorn's own trio worker calls with the sockets it bound.

On SQLite the relay takes the store's instance lock, opens the store and serves the app.
On PostgreSQL it takes part in the leader election instead (``relay.serve_elected``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Awaitable, Callable
from functools import partial

import trio
from hypercorn.config import Config, Sockets
from hypercorn.trio.run import worker_serve
from hypercorn.utils import wrap_app

from relay.gc_policy import tune_for_serving
from relay.http.app import create_app
from relay.http.connection import use_in_hypercorn
from relay.http.services import EXTENSION, Services
from relay.serve_elected import serve_elected
from relay.settings import Settings
from relay.startup import StartupError, Unguarded, one_line
from relay.stopping import first_of, open_stop_signals
from relay.store.instance_lock import (
    InstanceLock,
    InstanceLockHeld,
    InstanceLockLost,
    acquire_instance_lock,
)
from relay.store.schema import redacted, sqlite_path

log = logging.getLogger("relay")


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
