"""``GET /metrics`` (public, Prometheus text format) and the request-latency hook."""

from __future__ import annotations

import logging
import time
from typing import cast

from quart import Blueprint, Quart, Response, current_app, g, request

from relay.actors.runtime.context import Runtime
from relay.election import Leadership
from relay.errors import Unavailable
from relay.http.auth import public
from relay.http.contract import Media, responds
from relay.http.prometheus import Metrics
from relay.http.services import services
from relay.store.stats import StoreCounts, store_counts

bp = Blueprint("metrics", __name__)
log = logging.getLogger("relay.http")

METRICS = "relay.http.prometheus"


def install(app: Quart, runtime: Runtime, leadership: Leadership) -> Metrics:
    """Give ``app`` its metrics and time every request by route, method and status."""
    metrics = Metrics(runtime, leadership)
    app.extensions[METRICS] = metrics

    @app.before_request
    async def start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    async def observe(response: Response) -> Response:
        started = g.get("metrics_started")
        if started is not None:
            rule = request.url_rule
            route = rule.rule if rule is not None else "unmatched"
            metrics.observe_request(
                route, request.method, response.status_code, time.perf_counter() - started
            )
        return response

    return metrics


@bp.get("/metrics")
@responds(Media("text/plain", "Prometheus text exposition format"))
@public
async def metrics_text() -> Response:
    metrics = cast(Metrics, current_app.extensions[METRICS])
    counts: StoreCounts | None
    try:
        counts = await services().runtime.store.run(store_counts)
    except Unavailable:
        log.warning("metrics_store_counts_skipped reason=store-timeout")
        counts = None
    body, content_type = metrics.render(counts, request.headers.get("Accept"))
    return Response(body, content_type=content_type)
