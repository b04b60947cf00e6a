"""Running the app under hypercorn's trio worker until SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import signal
from collections.abc import Awaitable, Callable

import trio
from hypercorn.config import Config
from hypercorn.trio import serve as hypercorn_serve

from relay.gc_policy import tune_for_serving
from relay.http.app import create_app
from relay.http.services import EXTENSION, Services
from relay.settings import Settings

log = logging.getLogger("relay")


async def until_signalled() -> None:
    """Return on the first SIGINT or SIGTERM."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            log.info("relay_stopping signal=%s", signal.Signals(signum).name)
            return


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
    stop_when: Callable[[], Awaitable[None]] = until_signalled,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until ``stop_when()`` returns, then drain and stop.

    ``task_status.started`` receives the bound addresses. The app's ``after_serving`` stops
    the actors and closes the store.
    """
    app = create_app(settings)
    services: Services = app.extensions[EXTENSION]
    runtime = services.runtime

    @app.before_serving
    async def tune_garbage_collection() -> None:
        tune_for_serving()

    async def shutdown_trigger() -> None:
        await stop_when()
        # Before hypercorn waits for the requests still open: long-polls, command channels
        # and event streams answer and end now, rather than at the graceful timeout.
        runtime.begin_draining()

    await hypercorn_serve(
        app, hypercorn_config(settings), shutdown_trigger=shutdown_trigger, task_status=task_status
    )


def run(settings: Settings) -> None:
    trio.run(serve, settings)
