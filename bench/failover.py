"""Failover time (issue 22): kill -9 the active relay again and again, with default leases.

    .venv/bin/python -m bench.failover [-n 20] [--relays 2]
        [--database-url postgres://postgres@127.0.0.1:5432/test]

``--relays`` real ``relay serve`` processes on a fresh PostgreSQL database (created for the
run, dropped at the end), each advertising its own URL, the leader settings at their
defaults (lease 15 s, renew deadline 10 s, retry 2 s) unless RELAY_LEADER_* are set in the
environment; one ``relay orchestrator`` given every URL. Each round, with every standby up:

- kill -9 the active; from then on a client of the whole cluster (307 followed, the next
  relay tried on a connection error or a 503) asks ``GET /api/me`` until one answers 2xx:
  kill → first 2xx from the new active;
- at the same time it queues a command for the daemon (retrying the same way) and watches
  it: kill → the command delivered to the daemon (it reads ``delivered`` or later);
- the killed relay is started again (as a supervisor would) before the next round.

Prints p50/p99/max of both against the target (p99 < lease + 2 s), and the requests refused
(503 or no connection) and redirected (307) meanwhile. Not a timed test: bounded (every wait
has a deadline), stops by itself, everything on 127.0.0.1, every process stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

from bench.common import percentile, profile_from_start, profile_report
from tests.daemon.repos import make_repo
from tests.e2e.conftest import cli_token
from tests.e2e.ha import Client, Cluster
from tests.e2e.processes import DaemonProcess, RelayProcess, wait_for

DELIVERED = ("delivered", "running", "succeeded", "failed")
ROUND_TIMEOUT = 90.0


async def _pg(admin_url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def first_2xx(client: Client, killed: float, out: dict[str, float]) -> None:
    deadline = killed + ROUND_TIMEOUT
    while time.monotonic() < deadline:
        response = client.request("GET", "/api/me")
        if response is not None and 200 <= response.status_code < 300:
            out["first_2xx"] = time.monotonic() - killed
            return
        time.sleep(0.02)


def first_delivery(
    client: Client, orchestrator_id: str, repo: Path, killed: float, out: dict[str, float]
) -> None:
    deadline = killed + ROUND_TIMEOUT
    command_id = None
    body = {
        "type": "workspace.create",
        "target": orchestrator_id,
        "params": {"repoRoot": str(repo), "branch": f"f-{uuid.uuid4().hex[:8]}", "baseRef": "main"},
    }
    while command_id is None and time.monotonic() < deadline:
        response = client.request("POST", "/api/commands", json=body)
        if response is not None and response.status_code == 201:
            command_id = response.json()["command"]["id"]
        else:
            time.sleep(0.02)
    while command_id is not None and time.monotonic() < deadline:
        response = client.request("GET", f"/api/commands/{command_id}")
        if (
            response is not None
            and response.status_code == 200
            and response.json()["status"] in DELIVERED
        ):
            out["delivered"] = time.monotonic() - killed
            return
        time.sleep(0.02)


def run(kills: int, size: int, admin_url: str) -> None:
    name = f"relay_failover_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg(admin_url, f'CREATE DATABASE "{name}"'))
    database_url = f"{admin_url.rsplit('/', 1)[0]}/{name}"
    # The relays get only these of the environment's RELAY_* (their defaults otherwise).
    leader = {key: value for key, value in os.environ.items() if key.startswith("RELAY_LEADER_")}
    lease = float(leader.get("RELAY_LEADER_LEASE_SECONDS", "15"))
    with tempfile.TemporaryDirectory(prefix="relay-failover-") as tmp:
        root = Path(tmp)
        relays = Cluster(root, database_url, size, **leader)
        daemon: DaemonProcess | None = None
        pids: list[int] = []

        def profile_new_relays() -> None:
            for relay in relays.relays:
                if relay.proc is not None and relay.proc.pid not in pids:
                    pids.append(relay.proc.pid)
                    profile_from_start(relay.proc.pid)

        try:
            relays.start(timeout=60)
            profile_new_relays()
            active = relays.active(timeout=60)
            repo = make_repo(root / "base" / "repo")
            orchestrator_id = f"o-bench-{uuid.uuid4().hex[:6]}"

            class Everywhere:
                url = ",".join(relays.urls)

            daemon = DaemonProcess(
                Everywhere(),  # type: ignore[arg-type]  # DaemonProcess reads .url only
                root / "base",
                token=cli_token(active, f"orchestrator:{orchestrator_id}"),
                orchestrator_id=orchestrator_id,
                tmux_socket=f"relay-bench-{uuid.uuid4().hex[:8]}",
                log_path=root / "daemon.log",
            ).start(timeout=60)
            to_2xx: list[float] = []
            to_delivery: list[float] = []
            refused = redirected = 0
            for index in range(kills):
                try:
                    relays.restart_dead(timeout=120)
                    profile_new_relays()
                    wait_for(relays.standbys_ready, timeout=120, what="every standby up")
                except AssertionError as exc:  # a relay that will not start: report what we have
                    print(f"stopped before kill {index + 1}: {str(exc).splitlines()[0]}")
                    break
                old = relays.active(timeout=60)
                client = Client(relays.urls)
                out: dict[str, float] = {}
                old.kill9()
                killed = time.monotonic()
                threads = [
                    threading.Thread(target=first_2xx, args=(client, killed, out)),
                    threading.Thread(
                        target=first_delivery,
                        args=(Client(relays.urls), orchestrator_id, repo, killed, out),
                    ),
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(ROUND_TIMEOUT + 10)
                refused += client.refused
                redirected += client.redirected
                client.close()
                to_2xx.append(out.get("first_2xx", float("inf")))
                to_delivery.append(out.get("delivered", float("inf")))
                print(
                    f"kill {index + 1:2d}: first 2xx {to_2xx[-1]:6.2f} s, "
                    f"command delivered {to_delivery[-1]:6.2f} s",
                    flush=True,
                )
            report(lease, to_2xx, to_delivery, refused, redirected, len(to_2xx))
        finally:
            if daemon is not None:
                daemon.close()
            relays.close()
            profile_report(*pids, what="relays")
            asyncio.run(_pg(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def report(
    lease: float,
    to_2xx: list[float],
    to_delivery: list[float],
    refused: int,
    redirected: int,
    kills: int,
) -> None:
    target = lease + 2
    if not to_2xx:
        print("no kill measured")
        return
    uptime = subprocess.run(["/usr/bin/uptime"], capture_output=True, text=True, check=False)
    load = uptime.stdout.strip()
    print(f"\nuptime: {load}")
    for label, values in (
        ("kill -> first 2xx", to_2xx),
        ("kill -> command delivered", to_delivery),
    ):
        ordered = sorted(values)
        p50, p99 = percentile(ordered, 50), percentile(ordered, 99)
        verdict = "PASS" if p99 < target else "FAIL"
        print(
            f"{label:27s} n={len(ordered)} p50={p50:.2f} s p99={p99:.2f} s max={ordered[-1]:.2f} s"
            f"  (target p99 < lease + 2 = {target:.0f} s: {verdict})"
        )
    print(f"requests refused (503/no connection) {refused}, redirected (307) {redirected}")
    print(f"kills {kills}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-n", type=int, default=20, help="kills (default 20)")
    parser.add_argument("--relays", type=int, default=2, help="relay processes (default 2)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "RELAY_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"
        ),
        help="a PostgreSQL admin URL; a fresh database is made from it for the run",
    )
    args = parser.parse_args()
    run(args.n, args.relays, args.database_url)


if __name__ == "__main__":
    main()


_ = RelayProcess  # DaemonProcess's relay type, for readers
