"""The app factory: settings in, a Quart (trio) app with its store and actors out."""

from __future__ import annotations

import logging
import time
from typing import Any

import trio
from quart import Response, g, request
from quart_schema import QuartSchema
from quart_trio import QuartTrio

from relay import __version__
from relay.actors import maintenance as maintenance_actor
from relay.actors.registry import passivate
from relay.actors.runtime import Runtime
from relay.actors.setup import build_runtime
from relay.auth.authenticator import Authenticator
from relay.bootstrap import ensure_credentials
from relay.clock import Clock, SystemClock
from relay.dashboard import bp as dashboard_bp
from relay.http import (
    activity,
    agent_support,
    agents,
    channels,
    commands,
    config,
    docs,
    errors,
    events,
    health,
    merge_leases,
    metrics,
    orchestrators,
    path_ids,
    profiles,
    session,
    tokens,
    workspaces,
)
from relay.http import maintenance as maintenance_routes
from relay.http.asgi import RelayApp
from relay.http.contract import RelayOpenAPIProvider
from relay.http.services import EXTENSION, Services
from relay.maintenance.builtin import register_builtin_jobs
from relay.maintenance.features import register_feature_jobs
from relay.settings import Settings
from relay.store import tokens as token_store
from relay.store.schema import redacted

log = logging.getLogger("relay.http")
access_log = logging.getLogger("relay.access")

BLUEPRINTS = (
    health.bp,
    agents.bp,
    activity.bp,
    orchestrators.bp,
    commands.bp,
    channels.bp,
    workspaces.bp,
    merge_leases.bp,
    tokens.bp,
    config.bp,
    profiles.bp,
    maintenance_routes.bp,
    events.bp,
    metrics.bp,
    session.bp,
    agent_support.bp,
    docs.bp,
    dashboard_bp,
)


def create_app(settings: Settings, *, clock: Clock | None = None) -> QuartTrio:
    """Build the app; store and actors start in ``before_serving`` and stop in ``after_serving``."""
    app = RelayApp("relay", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["JSON_SORT_KEYS"] = False
    # Our background tasks are loops with nothing to finish: cancel them at once on shutdown.
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = None
    QuartSchema(
        app,
        info={"title": "relay", "version": __version__},
        openapi_path="/openapi.json",
        swagger_ui_path=None,  # relay.http.docs serves /docs from local files
        openapi_provider_class=RelayOpenAPIProvider,
        redoc_ui_path=None,
        scalar_ui_path=None,
        security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},
        security=[{"bearer": []}],
        # Handlers return plain dicts and lists: msgspec passes them through in C, where
        # the pydantic path builds a TypeAdapter per response (~60 us of every request).
        conversion_preference="msgspec",
    )
    credentials = ensure_credentials(settings)
    clock = clock or SystemClock()
    runtime = build_runtime(settings, clock)
    store, registry = runtime.store, runtime.registry
    maintenance_ledger = maintenance_actor.install(runtime)
    register_builtin_jobs(runtime.maintenance, settings)
    register_feature_jobs(runtime.maintenance, settings)
    auth = Authenticator(
        root_token=credentials.root_token,
        secret=credentials.secret,
        clock=clock,
        integrations=settings.integration_tokens,  # their per-minute limiter lives in auth
    )
    app.extensions[EXTENSION] = Services(runtime=runtime, auth=auth)

    errors.install(app)
    path_ids.install(app)  # and NUL characters in URLs
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    _install_access_log(app)
    metrics.install(app, runtime)

    @app.before_serving
    async def start() -> None:
        if not store.started:  # relay serve opens it before serving, under the instance lock
            await trio.to_thread.run_sync(store.start)
        runtime.events.start(
            store,
            trio.lowlevel.current_trio_token(),
            clock=clock,
            batch_window=settings.sse_batch_window_seconds,
        )
        runtime.doorbells.attach(trio.lowlevel.current_trio_token())
        auth.load_revocations(await store.run(token_store.revoked_jtis))
        app.add_background_task(_passivate_idle_actors, runtime)
        await app.nursery.start(runtime.maintenance.serve, runtime, maintenance_ledger)
        log.info("relay_started version=%s database=%s", __version__, redacted(store.database_url))

    @app.after_serving
    async def stop() -> None:
        # quart-trio cancels the app nursery before after_serving runs in it: shield the
        # ordered stop (actors flush their writes, then the store closes).
        with trio.CancelScope(shield=True):
            await runtime.maintenance.stop()  # its jobs ask actors: stop it first
            await trio.to_thread.run_sync(registry.stop_all)
            runtime.events.stop()  # open event streams end; later events are not stored
            await trio.to_thread.run_sync(store.stop)
        log.info("relay_stopped")

    return app


# Each Passivate wakes an actor thread that then contends for the GIL: a sweep over
# thousands of idle actors is paced in batches so requests keep being served meanwhile.
_PASSIVATE_BATCH = 64
_PASSIVATE_PAUSE_S = 0.005


async def _passivate_idle_actors(runtime: Runtime) -> None:
    idle = runtime.settings.actor_idle_seconds
    while True:
        await trio.sleep(max(idle / 2, 0.5))
        try:
            await _passivate_sweep(runtime, idle)
        except Exception:  # a background loop: a bug here is logged, never ends the relay
            log.exception("passivate_sweep_failed")


async def _passivate_sweep(runtime: Runtime, idle: float) -> None:
    refs = runtime.registry.idle_refs(idle)
    for start in range(0, len(refs), _PASSIVATE_BATCH):
        for ref in refs[start : start + _PASSIVATE_BATCH]:
            passivate(ref, idle)
        await trio.sleep(_PASSIVATE_PAUSE_S)


def _install_access_log(app: QuartTrio) -> None:
    @app.before_request
    async def started() -> None:
        g.started = time.perf_counter()

    @app.after_request
    async def finished(response: Response) -> Response:
        if access_log.isEnabledFor(logging.INFO):
            elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
            principal: Any = g.get("principal")
            access_log.info(
                "request method=%s path=%s status=%s ms=%.1f sub=%s",
                request.method,
                request.path,
                response.status_code,
                elapsed,
                principal.sub if principal is not None else "-",
            )
        return response
