"""A dashboard without a load balancer: each relay's page may connect to the cluster's
members (CSP), and ``/readyz`` and ``/api/cluster`` let exactly the members' origins read
them (CORS), on the active (the app) and on a standby (the gate) alike."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from relay.clock import ManualClock
from relay.domain.leadership import Lease, LeaseTimes, Member
from relay.election import Leadership
from relay.http.app import create_app
from relay.http.cors import member_origins, origin_of
from relay.http.standby import StandbyGate
from relay.settings import Settings
from tests.http.test_standby import ACTIVE, Inner, call, standby

NOW = datetime(2026, 1, 1, tzinfo=UTC)
STANDBY = "http://10.0.0.2:7420"
EVIL = "http://evil.example"
PREFLIGHT = {
    "Access-Control-Request-Method": "GET",
    "Access-Control-Request-Headers": "authorization",
}


def active() -> Leadership:
    me = Leadership(self_id="a", self_url=ACTIVE, times=LeaseTimes(15, 10, 2), role="active")
    me.observe(
        Lease("a", ACTIVE, 7, NOW, NOW, NOW + timedelta(seconds=10), NOW),
        [Member("a", ACTIVE, NOW), Member("b", STANDBY + "/", NOW)],
        NOW,
    )
    return me


@pytest.fixture
async def member_client(settings: Settings, clock: ManualClock) -> AsyncIterator[Any]:
    """The active relay of a two-member cluster."""
    application = create_app(settings, clock=clock, leadership=active())
    async with application.test_app() as test_app:
        yield test_app.test_client()


def cors_headers(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items() if k.lower().startswith("access-control-")}


# -- the rules -------------------------------------------------------------------------------


def test_an_origin_is_what_a_browser_sends_and_nothing_that_could_break_a_header() -> None:
    assert origin_of("http://10.0.0.2:7420/relay/") == "http://10.0.0.2:7420"
    assert origin_of("HTTPS://Relay-A.example:443") == "https://relay-a.example"
    assert origin_of("http://relay-a.example:80/") == "http://relay-a.example"
    assert origin_of("http://user:pw@relay-a.example:8080") == "http://relay-a.example:8080"
    assert origin_of("http://[::1]:7420") == "http://[::1]:7420"
    for junk in (
        "",
        "relay-a:7420",
        "ftp://relay-a",
        "javascript:alert(1)",
        "http://",
        "http://a:99999",
    ):
        assert origin_of(junk) is None, junk
    for hostile in ("http://a;script-src *", "http://a b", "http://a'x", "http://a,b"):
        assert origin_of(hostile) is None, hostile


def test_the_allowed_origins_are_the_members_advertised_ones() -> None:
    assert member_origins(active()) == [ACTIVE, STANDBY]
    assert member_origins(Leadership.single("http://127.0.0.1:7420")) == []


# -- the active relay (the app) --------------------------------------------------------------


async def test_the_dashboard_may_connect_to_the_members_and_nowhere_else(
    member_client: Any,
) -> None:
    page = await member_client.get("/", headers={"Origin": EVIL, "Host": "evil.example"})
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert f"connect-src 'self' {ACTIVE} {STANDBY};" in policy
    assert "evil" not in policy
    assert "default-src 'self'" in policy


async def test_a_single_relay_dashboard_connects_only_to_itself(client: Any) -> None:
    page = await client.get("/")
    assert "connect-src 'self';" in page.headers["Content-Security-Policy"]
    for path in ("/readyz", "/api/cluster"):
        response = await client.get(path, headers={"Origin": "http://127.0.0.1:7420"})
        assert cors_headers(response.headers) == {}


async def test_a_members_origin_may_read_who_is_active(member_client: Any) -> None:
    for path in ("/readyz", "/api/cluster"):
        response = await member_client.get(path, headers={"Origin": STANDBY})
        assert response.status_code == 200, path
        assert cors_headers(response.headers) == {"access-control-allow-origin": STANDBY}
        assert response.headers["Vary"] == "Origin"


async def test_any_other_origin_gets_no_cors_headers(member_client: Any) -> None:
    for origin in (EVIL, "null", f"{STANDBY}.evil.example", "http://10.0.0.2:7421"):
        for path in ("/readyz", "/api/cluster"):
            response = await member_client.get(path, headers={"Origin": origin})
            assert response.status_code == 200
            assert cors_headers(response.headers) == {}, (origin, path)
    # Only the two reads: the rest of the API stays same-origin.
    response = await member_client.get("/healthz", headers={"Origin": STANDBY})
    assert cors_headers(response.headers) == {}


async def test_a_members_preflight_for_the_authorization_header_is_allowed(
    member_client: Any,
) -> None:
    response = await member_client.options("/api/cluster", headers={"Origin": STANDBY, **PREFLIGHT})
    assert response.status_code == 204
    assert cors_headers(response.headers) == {
        "access-control-allow-origin": STANDBY,
        "access-control-allow-methods": "GET, HEAD",
        "access-control-allow-headers": "Authorization",
        "access-control-max-age": "600",
    }
    assert await response.get_data() == b""


async def test_other_preflights_are_refused_with_no_cors_headers(member_client: Any) -> None:
    refused = [
        ({"Origin": EVIL, **PREFLIGHT}, "only from this cluster's relays"),
        ({"Origin": STANDBY, "Access-Control-Request-Method": "POST"}, "POST is not allowed"),
        (
            {"Origin": STANDBY, **PREFLIGHT, "Access-Control-Request-Headers": "x-token"},
            "only the Authorization header",
        ),
    ]
    for headers, message in refused:
        response = await member_client.options("/api/cluster", headers=headers)
        assert response.status_code == 403, headers
        assert message in (await response.get_json())["error"]
        assert cors_headers(response.headers) == {}
    plain = await member_client.options("/api/cluster")
    assert (plain.status_code, plain.headers["Allow"]) == (204, "GET, HEAD, OPTIONS")
    assert cors_headers(plain.headers) == {}


# -- a standby (the gate) --------------------------------------------------------------------


async def test_a_standby_lets_the_members_read_it_too() -> None:
    gate = StandbyGate(Inner(), standby())
    for path in ("/readyz", "/api/cluster"):
        _, headers, _ = await call(gate, path, headers={"Origin": ACTIVE})
        assert headers[b"access-control-allow-origin"] == ACTIVE.encode(), path
        assert headers[b"vary"] == b"Origin"
        assert b"access-control-allow-credentials" not in headers
        _, headers, _ = await call(gate, path, headers={"Origin": EVIL})
        assert not [k for k in headers if k.startswith(b"access-control-")], path
    _, headers, _ = await call(gate, "/api/agents", headers={"Origin": ACTIVE})
    assert not [k for k in headers if k.startswith(b"access-control-")]


async def test_a_standby_answers_the_preflight_as_the_active_does() -> None:
    gate = StandbyGate(Inner(), standby())
    status, headers, body = await call(
        gate, "/api/cluster", method="OPTIONS", headers={"Origin": ACTIVE, **PREFLIGHT}
    )
    assert (status, body) == (204, b"")
    assert headers[b"access-control-allow-origin"] == ACTIVE.encode()
    assert headers[b"access-control-allow-headers"] == b"Authorization"
    status, headers, body = await call(
        gate, "/api/cluster", method="OPTIONS", headers={"Origin": EVIL, **PREFLIGHT}
    )
    assert status == 403
    assert "cluster's relays" in json.loads(body)["error"]
    assert not [k for k in headers if k.startswith(b"access-control-")]


async def test_the_preflight_is_in_the_api_document(client: Any) -> None:
    spec = await (await client.get("/openapi.json")).get_json()
    operation = spec["paths"]["/api/cluster"]["options"]
    assert set(operation["responses"]) == {"204", "403"}
    assert "content" not in operation["responses"]["204"]
    assert "Access-Control-Allow-Origin" in operation["responses"]["204"]["headers"]
    assert operation["security"] == []
