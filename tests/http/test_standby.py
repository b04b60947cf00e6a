"""The standby gate over ASGI: what a standby answers, and that an opened active passes
everything to the real app."""

from __future__ import annotations

import json
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

from relay.domain.leadership import Lease, LeaseTimes, Member
from relay.election import Leadership
from relay.http.standby import StandbyGate

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ACTIVE = "http://10.0.0.1:7420"


def standby(*, active: bool = True, role: Any = "standby") -> Leadership:
    me = Leadership(
        self_id="b", self_url="http://10.0.0.2:7420", times=LeaseTimes(15, 10, 2), role=role
    )
    expires = NOW + timedelta(seconds=10 if active else -1)
    me.observe(
        Lease("a", ACTIVE, 7, NOW, NOW, expires, NOW),
        [Member("a", ACTIVE, NOW), Member("b", me.self_url, NOW)],
        NOW,
    )
    return me


class Inner:
    """The real app, as far as the gate can tell: it records what reached it."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"inner"})


async def call(
    gate: StandbyGate,
    path: str,
    *,
    method: str = "GET",
    query: bytes = b"",
    kind: str = "http",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[bytes, bytes], bytes]:
    scope: dict[str, Any] = {
        "type": kind,
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    if kind == "websocket":
        scope["extensions"] = {"websocket.http.response": {}}
    incoming = [{"type": "websocket.connect"} if kind == "websocket" else {"type": "http.request"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await gate(scope, receive, send)
    start, body = sent[0], sent[1]
    assert start["type"].endswith("response.start"), sent
    assert body["type"].endswith("response.body")
    assert not body.get("more_body")
    return start["status"], dict(start["headers"]), body["body"]


async def test_a_standby_is_live_but_not_ready() -> None:
    gate = StandbyGate(Inner(), standby())
    status, _, body = await call(gate, "/healthz")
    assert (status, json.loads(body)) == (200, {"ok": True})
    status, headers, body = await call(gate, "/readyz")
    assert status == 503
    assert headers[b"retry-after"] == b"1"
    assert json.loads(body) == {"status": "standby", "active": ACTIVE, "epoch": 7}


async def test_a_standby_redirects_api_requests_to_the_active_keeping_path_and_query() -> None:
    inner = Inner()
    gate = StandbyGate(inner, standby())
    for method in ("GET", "POST"):
        status, headers, body = await call(gate, "/api/agents", method=method, query=b"limit=5")
        assert status == 307  # 307, not 302: the method and body are kept
        assert headers[b"location"] == f"{ACTIVE}/api/agents?limit=5".encode()
        assert json.loads(body) == {
            "error": f"this relay is a standby; the active one is {ACTIVE}",
            "active": ACTIVE,
        }
    assert inner.paths == []


async def test_a_websocket_handshake_to_a_standby_gets_the_redirect_as_its_http_answer() -> None:
    gate = StandbyGate(Inner(), standby())
    status, headers, _ = await call(gate, "/api/orchestrators/o1/channel", kind="websocket")
    assert status == 307
    assert headers[b"location"] == f"{ACTIVE}/api/orchestrators/o1/channel".encode()


async def test_a_request_target_that_is_not_a_path_is_refused_not_redirected_elsewhere() -> None:
    inner = Inner()
    gate = StandbyGate(inner, standby())
    for target in ("@evil.example/x", "evil.example/x", "*"):
        for kind in ("http", "websocket"):
            status, headers, body = await call(gate, target, kind=kind)
            assert status == 400, target
            assert b"location" not in headers
            assert json.loads(body) == {
                "error": "the request target must be a path starting with /"
            }
    assert inner.paths == []


async def test_the_redirect_stays_on_the_active_host_whatever_the_path_holds() -> None:
    gate = StandbyGate(Inner(), standby())
    status, headers, _ = await call(gate, "//evil.example/x", query=b"a=@b")
    assert status == 307
    location = headers[b"location"].decode()
    assert location == f"{ACTIVE}//evil.example/x?a=@b"
    assert urllib.parse.urlsplit(location).netloc == "10.0.0.1:7420"


async def test_with_no_active_a_standby_answers_503_with_retry_after() -> None:
    gate = StandbyGate(Inner(), standby(active=False))
    for kind in ("http", "websocket"):
        status, headers, body = await call(gate, "/api/agents", kind=kind)
        assert status == 503
        assert headers[b"retry-after"] == b"1"
        assert json.loads(body) == {"error": "no active relay"}
    status, _, body = await call(gate, "/readyz")
    assert (status, json.loads(body)["active"]) == (503, None)


async def test_a_relay_elected_but_still_starting_asks_clients_to_retry() -> None:
    gate = StandbyGate(Inner(), standby(role="starting"))
    status, headers, _ = await call(gate, "/api/agents")
    assert (status, headers[b"retry-after"]) == (503, b"1")
    status, _, body = await call(gate, "/readyz")
    assert (status, json.loads(body)["status"]) == (503, "starting")


async def test_a_standby_answers_the_cluster_and_its_election_gauges() -> None:
    gate = StandbyGate(Inner(), standby())
    status, _, body = await call(gate, "/api/cluster")
    assert status == 200
    cluster = json.loads(body)
    assert cluster["self"] == {"id": "b", "url": "http://10.0.0.2:7420", "role": "standby"}
    assert cluster["active"] == {"id": "a", "url": ACTIVE, "since": "2026-01-01T00:00:00Z"}
    assert cluster["standbys"] == [
        {"id": "b", "url": "http://10.0.0.2:7420", "seenAt": "2026-01-01T00:00:00Z"}
    ]
    assert (cluster["epoch"], cluster["changedAt"]) == (7, "2026-01-01T00:00:00Z")
    status, headers, body = await call(gate, "/metrics")
    assert status == 200
    assert headers[b"content-type"].startswith(b"text/plain")
    assert b"relay_leader_is_active 0.0" in body
    assert b"relay_leader_epoch 7.0" in body
    assert b"relay_leader_seconds_since_change 0." in body  # changed_at is the row's now


async def test_an_opened_active_gate_passes_everything_to_the_app() -> None:
    inner = Inner()
    me = standby(role="active")
    gate = StandbyGate(inner, me)
    status, _, _ = await call(gate, "/api/agents")
    assert status == 503  # active, but its app has not started yet
    gate.open()
    for path in ("/api/agents", "/readyz", "/healthz"):
        status, _, body = await call(gate, path)
        assert (status, body) == (200, b"inner")
    assert inner.paths == ["/api/agents", "/readyz", "/healthz"]


async def test_a_single_relay_is_its_own_active_one(client: Any) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert await response.get_json() == {"ok": True, "store": "ok", "role": "single", "epoch": 0}
    response = await client.get("/api/cluster")  # public, like /metrics
    assert response.status_code == 200
    cluster = await response.get_json()
    assert cluster["self"]["role"] == "single"
    assert cluster["active"]["url"] == cluster["self"]["url"]
    assert (cluster["standbys"], cluster["epoch"]) == ([], 0)
    metrics = await (await client.get("/metrics")).get_data(as_text=True)
    assert "relay_leader_is_active 1.0" in metrics


async def test_a_relay_that_lost_leadership_stops_passing_requests_to_its_app() -> None:
    inner = Inner()
    me = standby(role="active")
    gate = StandbyGate(inner, me)
    gate.open()
    me.lose("deposed: the lease of epoch 7 is no longer ours")
    status, headers, body = await call(gate, "/api/agents")
    assert (status, headers[b"retry-after"]) == (503, b"1")
    assert json.loads(body) == {"error": "this relay lost leadership and is stopping"}
    assert inner.paths == []
