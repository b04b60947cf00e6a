"""The app factory: settings in, a Quart (trio) app with its store and actors out."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator
from typing import Any

from quart import Response, g, request
from quart_schema import QuartSchema
from quart_trio import QuartTrio

from relay import __version__
from relay.actors import build_runtime
from relay.actors.runtime import running
from relay.auth.authenticator import Authenticator
from relay.bootstrap import ensure_credentials
from relay.clock import Clock, SystemClock
from relay.election import Leadership
from relay.http import (
    activity,
    agent_support,
    agents,
    artifacts,
    automations,
    channels,
    cluster,
    commands,
    config,
    docs,
    errors,
    events,
    health,
    inboxes,
    integrations,
    mcp_tokens,
    memory,
    memory_broker,
    merge_leases,
    message_channels,
    messages,
    metrics,
    orchestrators,
    pairs,
    path_ids,
    profiles,
    session,
    tasks,
    tokens,
    workspaces,
)
from relay.http import maintenance as maintenance_routes
from relay.http.asgi import RelayApp
from relay.http.contract import RelayOpenAPIProvider
from relay.http.dashboard import bp as dashboard_bp
from relay.http.mcp import route as mcp_route
from relay.http.services import EXTENSION, Services
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
    message_channels.bp,
    messages.bp,
    inboxes.bp,
    pairs.bp,
    integrations.bp,
    tasks.bp,
    automations.bp,
    artifacts.bp,
    memory.bp,
    memory_broker.bp,
    workspaces.bp,
    merge_leases.bp,
    tokens.bp,
    mcp_tokens.bp,
    config.bp,
    profiles.bp,
    maintenance_routes.bp,
    events.bp,
    metrics.bp,
    cluster.bp,
    session.bp,
    agent_support.bp,
    docs.bp,
    dashboard_bp,
)


def create_app(
    settings: Settings, *, clock: Clock | None = None, leadership: Leadership | None = None
) -> QuartTrio:
    """Build the app; its runtime (store, actors, schedule) runs while the app is serving.

    ``leadership`` is this process's view of an elected cluster (``relay serve`` on
    PostgreSQL); without one the app is the only relay on its store.
    """
    app = RelayApp("relay", static_folder=None)
    # werkzeug would answer a path with "//" with an HTML redirect to the path merged, on
    # the host the request's Host header names: a path that names no route is a JSON 404.
    app.url_map.merge_slashes = False
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.config["ARTIFACT_MAX_BYTES"] = settings.artifact_max_bytes  # see relay.http.asgi
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
    auth = Authenticator(
        root_token=credentials.root_token,
        secret=credentials.secret,
        clock=clock,
        integrations=settings.integration_tokens,  # their per-minute limiter lives in auth
    )
    runtime.authenticator = auth
    # Memory redaction replaces the relay's own credentials wherever they are written.
    runtime.credentials = (
        credentials.root_token,
        credentials.secret,
        *(integration.token for integration in settings.integration_tokens),
    )
    if leadership is None:
        leadership = Leadership.single(f"http://{settings.host}:{settings.port}")
    app.extensions[EXTENSION] = Services(runtime=runtime, auth=auth, leadership=leadership)

    errors.install(app)
    path_ids.install(app)  # and NUL characters in URLs
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    mcp_route.install(app)
    _install_access_log(app)
    metrics.install(app, runtime, leadership)

    @app.while_serving
    async def serve_runtime() -> AsyncGenerator[None, None]:
        async with running(runtime, app.nursery):
            auth.load_revocations(await runtime.store.run(token_store.revoked_jtis))
            log.info(
                "relay_started version=%s database=%s",
                __version__,
                redacted(runtime.store.database_url),
            )
            yield
        log.info("relay_stopped")

    return app


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
