"""Prometheus metrics of one relay process, in a registry of its own.

Never the process-wide default registry: tests build many apps in one process, and
each app's numbers are its own. What lives in memory (live actors, SSE clients,
events streamed) is read at scrape time by a collector; what only the database
knows (commands by status, leases held) is queried by the ``/metrics`` handler just
before it renders (collectors are synchronous, the store is not).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from relay.actors.runtime.context import Runtime
from relay.domain.commands import STATUSES as COMMAND_STATUSES
from relay.election import Leadership
from relay.store.stats import StoreCounts


class Metrics:
    """The metric families of one app."""

    def __init__(self, runtime: Runtime, leadership: Leadership) -> None:
        self.registry = CollectorRegistry()
        self.request_duration = Histogram(
            "relay_http_request_duration_seconds",
            "HTTP request latency until the response starts, by route (the URL rule)",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self._runtime = _RuntimeCollector(runtime)
        self._store = _StoreCollector()
        self.registry.register(self._runtime)
        self.registry.register(self._store)
        self.registry.register(LeadershipCollector(leadership))

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.request_duration.labels(route, method, str(status)).observe(seconds)

    def render(self, counts: StoreCounts | None, accept: str | None) -> tuple[bytes, str]:
        """The exposition the scraper asked for (``Accept``) and its content type.

        The store's families are included only when ``counts`` could be read.
        """
        encoder, content_type = choose_encoder(accept or "")
        self._store.counts = counts
        try:
            return encoder(self.registry), content_type
        finally:
            self._store.counts = None


class _RuntimeCollector(Collector):
    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    def collect(self) -> Iterator[Metric]:
        actors = GaugeMetricFamily("relay_actors_live", "Live actors by kind", labels=["kind"])
        for kind, count in sorted(self._rt.registry.live_counts().items()):
            actors.add_metric([kind], count)
        yield actors
        sends = self._rt.sends
        yield GaugeMetricFamily(
            "relay_sends_in_flight", "Message sends being handled now", value=sends.in_flight
        )
        yield CounterMetricFamily(
            "relay_sends_shed",
            "Sends refused with 503 because RELAY_MAX_SENDS_IN_FLIGHT were in flight",
            value=sends.shed,
        )
        hub = self._rt.events
        yield GaugeMetricFamily(
            "relay_sse_clients", "Connected event-stream clients", value=hub.client_count
        )
        published = CounterMetricFamily(
            "relay_stream_events",
            "Events committed to the stream and fanned out, by event name",
            labels=["event"],
        )
        for name, count in sorted(hub.stats.published.items()):
            published.add_metric([name], count)
        yield published
        yield CounterMetricFamily(
            "relay_sse_frames_sent",
            "Event frames written to event-stream clients (replayed and live)",
            value=hub.stats.frames_sent,
        )
        yield CounterMetricFamily(
            "relay_sse_clients_dropped",
            "Event-stream clients dropped for not keeping up",
            value=hub.stats.dropped,
        )
        yield CounterMetricFamily(
            "relay_sse_presence_windows",
            "Presence windows sent (at most one a second, each one frame per stream)",
            value=hub.stats.presence_windows,
        )
        yield CounterMetricFamily(
            "relay_sse_presence_skipped",
            "Presence frames a stream missed because its buffer was full",
            value=hub.stats.presence_skipped,
        )


class LeadershipCollector(Collector):
    """The election's gauges; a standby's gate renders these alone (``leadership_text``)."""

    def __init__(self, leadership: Leadership) -> None:
        self._leadership = leadership

    def collect(self) -> Iterator[Metric]:
        me = self._leadership
        yield GaugeMetricFamily(
            "relay_leader_is_active",
            "1 on the active relay (or a single one), 0 on a standby",
            value=1 if me.is_active else 0,
        )
        yield GaugeMetricFamily("relay_leader_epoch", "The leadership epoch", value=me.epoch)
        yield CounterMetricFamily(
            "relay_leader_changes",
            "Leadership changes this process has seen since it started",
            value=me.changes,
        )
        since = me.seconds_since_change()
        if since is not None:
            yield GaugeMetricFamily(
                "relay_leader_seconds_since_change",
                "Seconds since leadership last changed hands (acquired or released)",
                value=since,
            )


def leadership_text(leadership: Leadership, accept: str | None) -> tuple[bytes, str]:
    """The election's gauges alone, in the exposition the scraper asked for."""
    registry = CollectorRegistry()
    registry.register(LeadershipCollector(leadership))
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type


class _StoreCollector(Collector):
    counts: StoreCounts | None = None

    def collect(self) -> Iterator[Metric]:
        counts = self.counts
        if counts is None:
            return
        commands = GaugeMetricFamily("relay_commands", "Commands by status", labels=["status"])
        statuses = dict.fromkeys(COMMAND_STATUSES, 0) | counts.commands_by_status
        for status, count in statuses.items():
            commands.add_metric([status], count)
        yield commands
        yield GaugeMetricFamily(
            "relay_merge_leases_held", "Merge leases held", value=counts.leases_held
        )
