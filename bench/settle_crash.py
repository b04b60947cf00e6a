"""kill -9 at either end of a merge (issue 17, item 4): what a restart finds.

    .venv/bin/python -m bench.settle_crash [-n 30] [--jitter-ms 8] [--merge-kill-every 3]
        [--database-url postgres://postgres@127.0.0.1:5432/test] [--seed 1]

One ``relay serve`` on a data dir (and database) kept across every restart. Each try
registers an orchestrator and a workspace of its own repo, then:

- settle tries: requests a merge (202), sends the merge-settle ``PATCH /api/commands/:id``
  (succeeded) and SIGKILLs the server at a random moment 0..``--jitter-ms`` after sending;
- every ``--merge-kill-every``-th try instead SIGKILLs 0..``--jitter-ms`` after sending
  the merge request itself (the lease is taken before the command is queued).

It then restarts the server on the same data dir and port and, before anything else can
run (the maintenance jobs' first runs are far off), reads back: the command, the
workspace, the repo's lease and the audit trail. Counts:

- settles committed (the command reads ``succeeded`` after the restart), acknowledged
  (the PATCH got its 200 before the kill);
- of those, workspaces not ``merged`` or leases still held right after the restart;
- of those, the "Workspace merged" audit row missing;
- leases whose command is not in the store (or ``commandId`` null), and workspaces left
  ``merge_planned`` with no lease (a repo or workspace blocked until a TTL runs out).

With ``--database-url`` (a PostgreSQL admin URL) the server uses a fresh database created
for the run and dropped at the end; without, SQLite in the data dir. Nothing leaves
127.0.0.1; every wait is bounded; the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import Server, free_port, kill9, new_session, start_server, stop_server

ROUTE_TIMEOUT_S = 10.0


@dataclass
class Counts:
    tries: int = 0
    settle_tries: int = 0
    merge_tries: int = 0
    settled: int = 0
    acknowledged: int = 0
    stale_workspace: int = 0
    stale_lease: int = 0
    lost_audit: int = 0
    unbound_leases: int = 0
    planned_without_lease: int = 0
    restart_s: list[float] = field(default_factory=list)


async def call(
    session: aiohttp.ClientSession, server: Server, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    async with session.request(
        method, server.base + path, json=body, headers=server.auth
    ) as response:
        payload = await response.json(content_type=None)
        return response.status, payload


async def prepare(session: aiohttp.ClientSession, server: Server, n: int) -> tuple[str, str]:
    """An orchestrator and a ready workspace of a repo of their own: (workspace id, repo)."""
    base = f"/srv/bench{n}"
    repo = f"{base}/repo"
    status, body = await call(
        session, server, "POST", "/api/orchestrators", {"id": f"o{n}", "baseDir": base}
    )
    assert status in (200, 201), body
    workspace = {
        "id": f"w{n}",
        "repoRoot": repo,
        "sourceCwd": repo,
        "worktreePath": f"{repo}/.worktrees/w{n}",
        "branch": f"feature/w{n}",
        "baseRef": "main",
        "status": "ready",
    }
    status, body = await call(session, server, "POST", "/api/workspaces", workspace)
    assert status in (200, 201), body
    return f"w{n}", repo


async def fire_and_kill(
    session: aiohttp.ClientSession,
    server: Server,
    method: str,
    path: str,
    body: Any,
    delay_s: float,
) -> tuple[int, Any] | None:
    """Send the request, SIGKILL the server ``delay_s`` later; its reply if it came first."""
    request = asyncio.ensure_future(call(session, server, method, path, body))
    await asyncio.sleep(delay_s)
    kill9(server)
    try:
        return await asyncio.wait_for(request, timeout=ROUTE_TIMEOUT_S)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None


async def settle_try(server: Server, n: int, delay_s: float) -> tuple[str, str, str | None, bool]:
    """Merge, then PATCH succeeded with a kill in flight: (workspace, repo, command, acked)."""
    async with new_session(limit=4) as session:
        workspace_id, repo = await prepare(session, server, n)
        status, body = await call(
            session, server, "POST", f"/api/workspaces/{workspace_id}/actions", {"action": "merge"}
        )
        assert status == 202, body
        command_id = body["command"]["id"]
        settle = {"status": "succeeded", "result": {"merged": True, "headSha": "f" * 40}}
        reply = await fire_and_kill(
            session, server, "PATCH", f"/api/commands/{command_id}", settle, delay_s
        )
    return workspace_id, repo, command_id, reply is not None and reply[0] == 200


async def merge_try(server: Server, n: int, delay_s: float) -> tuple[str, str]:
    """Request a merge with a kill in flight: (workspace, repo)."""
    async with new_session(limit=4) as session:
        workspace_id, repo = await prepare(session, server, n)
        await fire_and_kill(
            session,
            server,
            "POST",
            f"/api/workspaces/{workspace_id}/actions",
            {"action": "merge"},
            delay_s,
        )
    return workspace_id, repo


async def inspect(
    server: Server,
    counts: Counts,
    workspace_id: str,
    repo: str,
    command_id: str | None,
    acked: bool,
) -> None:
    """Read back, right after the restart, what the kill left behind."""
    async with new_session(limit=4) as session:
        _, every_lease = await call(session, server, "GET", "/api/merge-leases")
        leases = [lease for lease in every_lease if lease["repoRoot"] == repo]
        for lease in leases:
            bound = lease.get("commandId")
            if bound is None:
                counts.unbound_leases += 1
                continue
            status, _ = await call(session, server, "GET", f"/api/commands/{bound}")
            counts.unbound_leases += status == 404
        _, workspace = await call(session, server, "GET", f"/api/workspaces/{workspace_id}")
        if workspace.get("status") == "merge_planned" and not leases:
            counts.planned_without_lease += 1
        if command_id is None:
            return
        _, command = await call(session, server, "GET", f"/api/commands/{command_id}")
        if command.get("status") != "succeeded":
            return
        counts.settled += 1
        counts.acknowledged += acked
        counts.stale_workspace += workspace.get("status") != "merged"
        counts.stale_lease += bool(leases)
        _, activity = await call(
            session, server, "GET", "/api/activity?view=orchestrators&limit=1000"
        )
        merged_rows = [
            event
            for event in activity
            if event["title"] == "Workspace merged"
            and event.get("metadata", {}).get("commandId") == command_id
        ]
        counts.lost_audit += not merged_rows


def run(args: argparse.Namespace, database_url: str | None) -> Counts:
    rng = random.Random(args.seed)
    counts = Counts()
    with tempfile.TemporaryDirectory(prefix="relay-bench-settle-crash-") as tmp:
        data_dir = Path(tmp) / "data"
        log_path = Path(tmp) / "server.log"
        port = free_port()
        root = secrets.token_urlsafe(24)
        server = start_server(data_dir, port, root, log_path, database_url=database_url)
        try:
            for n in range(args.tries):
                delay_s = rng.uniform(0, args.jitter_ms) / 1000
                counts.tries += 1
                command_id: str | None = None
                acked = False
                if args.merge_kill_every and (n + 1) % args.merge_kill_every == 0:
                    counts.merge_tries += 1
                    workspace_id, repo = asyncio.run(merge_try(server, n, delay_s))
                else:
                    counts.settle_tries += 1
                    workspace_id, repo, command_id, acked = asyncio.run(
                        settle_try(server, n, delay_s)
                    )
                restarted = time.perf_counter()
                server = start_server(data_dir, port, root, log_path, database_url=database_url)
                counts.restart_s.append(time.perf_counter() - restarted)
                asyncio.run(inspect(server, counts, workspace_id, repo, command_id, acked))
        finally:
            stop_server(server)
    return counts


async def _pg(admin_url: str, statement: str) -> None:
    import asyncpg  # the PostgreSQL driver relay itself uses

    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--tries", type=int, default=30)
    parser.add_argument("--jitter-ms", type=float, default=8.0, help="kill 0..this after sending")
    parser.add_argument(
        "--merge-kill-every",
        type=int,
        default=3,
        help="every k-th try kills during the merge (0: never)",
    )
    parser.add_argument("--database-url", help="PostgreSQL admin URL; a fresh database is made")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    database_url = None
    if args.database_url:
        name = f"relay_bench_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg(args.database_url, f'CREATE DATABASE "{name}"'))
        database_url = f"{args.database_url.rsplit('/', 1)[0]}/{name}"
    try:
        started = time.perf_counter()
        counts = run(args, database_url)
    finally:
        if database_url:
            asyncio.run(_pg(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    store = "PostgreSQL" if database_url else "SQLite"
    restart = sorted(counts.restart_s)
    took = time.perf_counter() - started
    print(f"== settle_crash ({store}): {counts.tries} kill -9s in {took:.0f} s")
    print(
        f"tries: {counts.settle_tries} during a merge-settle PATCH, {counts.merge_tries} during "
        f"a merge request; kill 0..{args.jitter_ms:g} ms after sending"
    )
    print(
        f"settles committed: {counts.settled} (PATCH answered 200 before the kill: "
        f"{counts.acknowledged})"
    )
    print(
        f"right after restart, of those committed: workspace not merged {counts.stale_workspace}, "
        f"lease still held {counts.stale_lease}, 'Workspace merged' audit row missing "
        f"{counts.lost_audit}"
    )
    print(
        f"leases with no command: {counts.unbound_leases}; workspaces merge_planned with no "
        f"lease: {counts.planned_without_lease}"
    )
    if restart:
        print(
            f"restart -> ready: median {restart[len(restart) // 2]:.2f} s, max {restart[-1]:.2f} s"
        )


if __name__ == "__main__":
    main()
