"""Running the app under hypercorn's trio worker until SIGINT/SIGTERM."""

from __future__ import annotations

import logging
import signal

import trio
from hypercorn.config import Config
from hypercorn.trio import serve as hypercorn_serve

from relay.gc_policy import tune_for_serving
from relay.http.app import create_app
from relay.settings import Settings

log = logging.getLogger("relay")


async def _until_signalled() -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            log.info("relay_stopping signal=%s", signal.Signals(signum).name)
            return


async def serve(settings: Settings) -> None:
    """Serve until signalled; the app's after_serving stops actors and closes the store."""
    app = create_app(settings)
    config = Config()
    config.bind = [f"{settings.host}:{settings.port}"]
    config.accesslog = None  # relay.access logs one structured line per request
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 10

    @app.before_serving
    async def tune_garbage_collection() -> None:
        tune_for_serving()

    await hypercorn_serve(app, config, shutdown_trigger=_until_signalled)


def run(settings: Settings) -> None:
    trio.run(serve, settings)
