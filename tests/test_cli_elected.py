"""``relay serve`` processes on one PostgreSQL database: one is active, the others standby;
a deposed active exits 3 with one line saying why; ``relay status`` prints the cluster."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from relay.cli import format_cluster
from tests.conftest import _pg, run_asyncio
from tests.test_cli import SERVE_WITHIN, pg_admin_url, port_of, relay_env, serving

# Short leases, so a takeover happens within a second or two.
ELECTION = {
    "RELAY_LEADER_LEASE_SECONDS": "2",
    "RELAY_LEADER_RENEW_DEADLINE_SECONDS": "1.5",
    "RELAY_LEADER_RETRY_SECONDS": "0.2",
}
DEADLINE = 30.0  # bound on every wait below; each normally ends within a few seconds


@pytest.fixture
def fresh_database() -> Iterator[str]:
    """A new, empty (never migrated) PostgreSQL database."""
    admin_url = pg_admin_url()
    name = f"relay_test_{uuid.uuid4().hex[:12]}"
    run_asyncio(_pg(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        run_asyncio(_pg(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def get(port: int, path: str) -> tuple[int, dict[str, object], dict[str, str]]:
    """Status, JSON body and headers; redirects are not followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(f"http://127.0.0.1:{port}{path}", timeout=10) as reply:
            return reply.status, json.loads(reply.read()), dict(reply.headers)
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read()), dict(refused.headers)


def websocket_handshake(port: int, path: str) -> tuple[int, str | None]:
    """The status and Location of a WebSocket handshake's answer, through real hypercorn."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: relay\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    lines = head.split(b"\r\n\r\n")[0].decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}.get("location")


def roles(ports: list[int]) -> list[int]:
    return [get(port, "/readyz")[0] for port in ports]


def until(condition: object, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    pytest.fail(f"not within {DEADLINE} s: {what}")


def test_two_relays_started_at_once_on_a_fresh_database_elect_one(
    tmp_path: Path, fresh_database: str
) -> None:
    """Both serve; exactly one migrates and becomes active, the other redirects to it; when
    the active stops (SIGTERM), the standby takes over; ``relay status`` follows."""
    env = relay_env(RELAY_DATABASE_URL=fresh_database, **ELECTION)
    with (
        serving("--data-dir", str(tmp_path / "a"), "--port", "0", env=env) as one,
        serving("--data-dir", str(tmp_path / "b"), "--port", "0", env=env) as other,
    ):
        ports = [port_of(one.wait_listening()), port_of(other.wait_listening())]
        until(lambda: sorted(roles(ports)) == [200, 503], "one active, one standby")
        active, standby = ports if roles(ports)[0] == 200 else ports[::-1]
        status, body, _ = get(standby, "/readyz")
        assert body == {"status": "standby", "active": f"http://127.0.0.1:{active}", "epoch": 1}
        status, body, headers = get(standby, "/api/agents?limit=1")
        assert status == 307
        assert headers["location"] == f"http://127.0.0.1:{active}/api/agents?limit=1"
        assert websocket_handshake(standby, "/api/orchestrators/o1/channel") == (
            307,
            f"http://127.0.0.1:{active}/api/orchestrators/o1/channel",
        )
        shown = status_of(standby)
        assert shown.returncode == 0
        assert f"active:   http://127.0.0.1:{active}" in shown.stdout
        assert f"http://127.0.0.1:{standby}" in shown.stdout

        first = one if active == ports[0] else other
        assert first.stop() == 0
        until(lambda: get(standby, "/readyz")[0] == 200, "the standby takes over")
        assert get(standby, "/readyz")[1]["epoch"] == 2
        (second,) = [r for r in (one, other) if r is not first]
        assert second.stop() == 0
    shown = status_of(standby)
    assert shown.returncode == 2  # nobody answers


def status_of(port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI, arguments from the test
        [sys.executable, "-m", "relay", "status", "--relay-url", f"http://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=SERVE_WITHIN,
        env=relay_env(),
        check=False,
    )


def test_a_deposed_active_exits_3_with_one_line_saying_why(
    tmp_path: Path, fresh_database: str
) -> None:
    env = relay_env(RELAY_DATABASE_URL=fresh_database, **ELECTION)
    with serving("--data-dir", str(tmp_path), "--port", "0", env=env) as relay:
        port = port_of(relay.wait_listening())
        until(lambda: get(port, "/readyz")[0] == 200, "it becomes active")
        # A successor's acquisition, as the database sees it: the epoch moves on.
        run_asyncio(
            _pg(fresh_database, "UPDATE relay_leader SET epoch = epoch + 1, holder = 'other'")
        )
        code = relay.process.wait(SERVE_WITHIN)
        assert relay.process.stderr is not None
        lost = [line for line in relay.process.stderr if "leadership_lost" in line]
    assert code == 3
    assert len(lost) == 1
    assert "action=exit status=3" in lost[0]


def test_relay_status_prints_a_cluster_without_an_active_one() -> None:
    body: dict[str, Any] = {
        "self": {},
        "active": None,
        "standbys": [],
        "epoch": 4,
        "changedAt": None,
    }
    assert format_cluster(body).splitlines() == [
        "active:   none",
        "standbys: none",
        "epoch:    4",
        "changed:  -",
    ]


def test_relay_status_exits_2_when_no_relay_answers() -> None:
    result = status_of(1)
    assert result.returncode == 2
    assert "no relay answered" in result.stderr
