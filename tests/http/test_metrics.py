"""GET /metrics: public, Prometheus text format, one registry per app."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.conftest import root_headers
from tests.http.helpers import create_command, register_orchestrator
from tests.http.sse_client import open_stream, post_activity

H = root_headers()

FAMILIES = {
    "relay_http_request_duration_seconds": "histogram",
    "relay_actors_live": "gauge",
    "relay_commands": "gauge",
    "relay_merge_leases_held": "gauge",
    "relay_stream_events": "counter",
    "relay_sse_frames_sent": "counter",
    "relay_sse_clients": "gauge",
    "relay_sse_clients_dropped": "counter",
    "relay_sse_presence_windows": "counter",
    "relay_sse_presence_skipped": "counter",
    "relay_sends_in_flight": "gauge",
    "relay_sends_shed": "counter",
}


async def scrape(client: Any) -> dict[str, list[Sample]]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = (await response.get_data()).decode()
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def value(samples: list[Sample], name: str, **labels: str) -> float | None:
    for sample in samples:
        if sample.name == name and sample.labels == labels:
            return sample.value
    return None


async def test_metrics_is_public_and_has_every_family(client: Any) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    text = (await response.get_data()).decode()
    types = {family.name: family.type for family in text_string_to_metric_families(text)}
    assert {name: types.get(name) for name in FAMILIES} == FAMILIES


async def test_request_latency_is_counted_by_route_method_and_status(client: Any) -> None:
    await client.get("/healthz")
    await client.get("/healthz")
    await client.get("/api/agents/nope", headers=H)
    samples = (await scrape(client))["relay_http_request_duration_seconds"]
    count = "relay_http_request_duration_seconds_count"
    assert value(samples, count, route="/healthz", method="GET", status="200") == 2
    routes = {sample.labels["route"] for sample in samples}
    assert "/api/agents/nope" not in routes  # the URL rule, never the raw path
    assert any(route.startswith("/api/agents/<") for route in routes)


async def test_unmatched_paths_share_one_route_label(client: Any) -> None:
    await client.get("/no/such/path/1")
    await client.get("/no/such/path/2")
    samples = (await scrape(client))["relay_http_request_duration_seconds"]
    count = "relay_http_request_duration_seconds_count"
    assert value(samples, count, route="unmatched", method="GET", status="404") == 2


async def test_live_actors_are_counted_by_kind(client: Any) -> None:
    response = await client.post("/api/agents", json={"id": "a1"}, headers=H)
    assert response.status_code == 201
    samples = (await scrape(client))["relay_actors_live"]
    assert value(samples, "relay_actors_live", kind="agent") == 1


async def test_commands_are_counted_by_status(client: Any) -> None:
    await register_orchestrator(client)
    await create_command(client)
    await create_command(client)
    samples = (await scrape(client))["relay_commands"]
    assert value(samples, "relay_commands", status="queued") == 2
    assert value(samples, "relay_commands", status="succeeded") == 0
    leases = (await scrape(client))["relay_merge_leases_held"]
    assert value(leases, "relay_merge_leases_held") == 0


async def test_stream_events_and_clients_are_counted(client: Any) -> None:
    async with open_stream(client) as stream:
        await post_activity(client, "one")
        await stream.next_event()
        samples = await scrape(client)
    assert value(samples["relay_sse_clients"], "relay_sse_clients") == 1
    events = samples["relay_stream_events"]
    assert value(events, "relay_stream_events_total", event="activity") == 1
    assert value(samples["relay_sse_frames_sent"], "relay_sse_frames_sent_total") == 1
    after = await scrape(client)
    assert value(after["relay_sse_clients"], "relay_sse_clients") == 0


async def test_each_app_counts_its_own_requests(open_app: Any) -> None:
    async with open_app() as first, open_app() as second:
        await first.test_client().get("/healthz")
        samples = (await scrape(second.test_client()))["relay_http_request_duration_seconds"]
    count = "relay_http_request_duration_seconds_count"
    assert value(samples, count, route="/healthz", method="GET", status="200") is None


async def test_presence_windows_are_counted(client: Any, services: Any) -> None:
    services.runtime.events.presence.window_seconds = 0.02
    response = await client.post("/api/agents", json={"id": "p1"}, headers=H)
    assert response.status_code == 201
    before = value(
        (await scrape(client))["relay_sse_presence_windows"], "relay_sse_presence_windows_total"
    )
    async with open_stream(client) as stream:
        response = await client.post("/api/agents/p1/heartbeat", headers=H)
        assert response.status_code == 200
        while (await stream.next_frame()).event != "presence":
            pass
    after = value(
        (await scrape(client))["relay_sse_presence_windows"], "relay_sse_presence_windows_total"
    )
    assert before is not None
    assert after is not None
    assert after >= before + 1
