"""Memory search and broker (issue 21): latency over a large store, with and without index.

    .venv/bin/python -m bench.memory [--memories 100000] [--agents 1000] [--repos 50]
        [--requests 400] [--concurrency 1] [--database-url postgres://…] [--no-index]

Seeding is fast because it skips HTTP: the memories (and each agent's workspaces) are
written through the store directly (``StoreThread``, batched ``bulk_create``) into the
server's data dir — or, with ``--database-url``, into a fresh PostgreSQL database made on
that server for the run and dropped after it — before ``relay serve`` starts on it; the
agents are then registered over HTTP (their cards, with ``memory-reload:*`` tags).
``--no-index`` drops the trigram indexes (FTS5 / pg_trgm) after seeding. The rows are
stamped with the server's redaction list (the bench sets its root token and
``RELAY_SECRET``), as the server's own writes are, so the broker reads them without text.

The store: ``--memories`` over ``--agents`` agents and ``--repos`` repos — 60 % agent
scope, 39 % repo scope, 1 % global — each a title of 2-6 and a body of 20-80 words drawn
from a 5,000-word vocabulary with a Zipf-like skew (so terms range from common to rare),
a few tags, every 100th pinned for its agent. Each agent has workspaces in 2 repos.

Phases, each ``--requests`` requests from ``--concurrency`` closed-loop workers (default
1, so p99 is a request's own latency rather than its wait behind the others), as root:
``GET /healthz``; ``GET /api/memory?q=`` with 1, 2 and 3 terms (terms of mid frequency,
``limit=50``); ``POST /api/memory/broker`` for a random agent with a 2-term query and
with none (``maxChars`` 8000). Prints p50/p99 next to ``/healthz`` (target: broker p99
< 50 ms). Nothing leaves 127.0.0.1; the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from bench.common import (
    HEADER,
    Phase,
    Request,
    Server,
    closed_loop,
    free_port,
    json_body,
    new_session,
    noise_warning,
    print_phase,
    start_server,
    stop_server,
    verdict,
)
from relay.actors.memory.rules import redactor_for
from relay.domain.memory import Memory, Source
from relay.domain.workspaces import Workspace
from relay.store import memory as memory_store
from relay.store import memory_search, models
from relay.store import workspaces as workspace_store
from relay.store.thread import StoreThread

NOW = 1_700_000_000_000
VOCABULARY = 5_000
BATCH = 2_000
BROKER_TARGET_MS = 50.0
BROKER_MAX_CHARS = 8_000
REGISTER_CONCURRENCY = 32
SEED = 21


def word(rank: int) -> str:
    return f"w{rank:04x}"


class Words:
    """A Zipf-like vocabulary: rank r drawn with weight 1/(r+10)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.weights = [1 / (rank + 10) for rank in range(VOCABULARY)]
        self.ranks = list(range(VOCABULARY))

    def text(self, count: int) -> str:
        picked = self.rng.choices(self.ranks, self.weights, k=count)
        return " ".join(word(rank) for rank in picked)

    def query(self, terms: int) -> str:
        # mid-frequency terms: common enough to match, rare enough to need a scan
        return " ".join(word(self.rng.randint(50, 1_500)) for _ in range(terms))


def agent_id(n: int) -> str:
    return f"bench-mem-{n}"


def repo_root(n: int) -> str:
    return f"/srv/bench/repo-{n}"


def memories(args: argparse.Namespace, rng: random.Random) -> list[Memory]:
    words = Words(rng)
    made = []
    for n in range(args.memories):
        pick = rng.random()
        owner = agent_id(rng.randrange(args.agents))
        if pick < 0.60:
            scope, key = "agent", owner
        elif pick < 0.99:
            scope, key = "repo", repo_root(rng.randrange(args.repos))
        else:
            scope, key = "global", ""
        tags = tuple(rng.sample(["ops", "style", "build", "deploy", "test"], rng.randint(0, 2)))
        if n % 100 == 0:
            tags += ("pinned",)
        made.append(
            Memory(
                id=f"mem_{n:032x}",
                scope=scope,  # type: ignore[arg-type]
                scope_key=key,
                type="project",
                visibility="shared",
                sensitivity="normal",
                confidence=rng.choice(["low", "medium", "high"]),
                redaction_state="clean",
                title=words.text(rng.randint(2, 6)),
                body=words.text(rng.randint(20, 80)),
                tags=tags,
                source=Source("manual", None),
                created_by=owner,
                version=1,
                serve_count=0,
                last_served_at=None,
                created_at=NOW,
                updated_at=NOW + n,
            )
        )
    return made


def workspaces(args: argparse.Namespace, rng: random.Random) -> list[Workspace]:
    made = []
    for n in range(args.agents):
        for k, repo in enumerate(rng.sample(range(args.repos), min(2, args.repos))):
            made.append(
                Workspace(
                    id=f"ws-bench-{n}-{k}",
                    agent_id=agent_id(n),
                    orchestrator_id=None,
                    repo_root=repo_root(repo),
                    source_cwd=repo_root(repo),
                    worktree_path=f"{repo_root(repo)}/.wt/{n}",
                    branch=None,
                    base_ref=None,
                    base_sha=None,
                    mode="isolated",
                    status="active",
                    metadata={},
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
    return made


def seed(database_url: str, args: argparse.Namespace, credentials: tuple[str, ...]) -> None:
    """Migrate, then write the store directly (batched), before the server starts. Each
    row carries the stamp of the server's redaction list (its credentials: the bench
    chooses them), as the server's own writes do."""
    stamp = redactor_for(credentials, []).stamp
    rng = random.Random(SEED)
    rows = memories(args, rng)
    spaces = workspaces(args, rng)
    store = StoreThread(database_url)
    store.start()
    try:
        for start in range(0, len(rows), BATCH):
            batch = [
                # the query module's own column mapping (search_text and search_tags too)
                models.Memory(id=m.id, **memory_store._columns(m, stamp))
                for m in rows[start : start + BATCH]
            ]
            store.call(lambda b=batch: models.Memory.bulk_create(b), write=True)  # type: ignore[misc]
        for ws in spaces:
            store.call(lambda w=ws: workspace_store.insert(w), write=True)  # type: ignore[misc]
        if args.no_index:
            store.call(memory_search.drop_indexes, write=True)
    finally:
        store.stop()


async def register_agents(server: Server, count: int) -> None:
    async with new_session(REGISTER_CONCURRENCY) as session:
        sem = asyncio.Semaphore(REGISTER_CONCURRENCY)

        async def one(n: int) -> None:
            body = {"id": agent_id(n), "tags": ["memory-reload:pinned", "memory-reload:style"]}
            async with (
                sem,
                session.post(
                    f"{server.base}/api/agents", json=body, headers=server.auth
                ) as response,
            ):
                if response.status not in (200, 201):
                    raise RuntimeError(f"register {n}: HTTP {response.status}")

        await asyncio.gather(*(one(n) for n in range(count)))


async def benchmark(server: Server, args: argparse.Namespace) -> list[Phase]:
    await register_agents(server, args.agents)
    rng = random.Random(SEED + 1)
    words = Words(rng)
    queries = {k: [words.query(k) for _ in range(args.requests)] for k in (1, 2, 3)}

    def search(terms: int) -> Callable[[int], Request]:
        return lambda i: (
            "GET",
            f"{server.base}/api/memory?limit=50&q={quote(queries[terms][i])}",
            None,
        )

    def broker(with_query: bool) -> Callable[[int], Request]:
        def request(i: int) -> Request:
            body: dict[str, Any] = {
                "agentId": agent_id(rng.randrange(args.agents)),
                "budget": {"maxChars": BROKER_MAX_CHARS},
            }
            if with_query:
                body["query"] = queries[2][i]
            return ("POST", f"{server.base}/api/memory/broker", json_body(body))

        return request

    plan: list[tuple[str, Callable[[int], Request]]] = [
        ("GET /healthz", lambda _i: ("GET", f"{server.base}/healthz", None)),
        ("search 1 term", search(1)),
        ("search 2 terms", search(2)),
        ("search 3 terms", search(3)),
        ("broker, 2-term query", broker(True)),
        ("broker, no query", broker(False)),
    ]
    headers = {**server.auth, "Content-Type": "application/json"}
    phases = []
    print(HEADER, flush=True)
    async with new_session(args.concurrency) as session:
        for name, requests in plan:
            phase = await closed_loop(
                session, name, requests, args.requests, args.concurrency, headers, server.pid
            )
            print_phase(phase)
            phases.append(phase)
    healthz = phases[0].pct(50)
    print(flush=True)
    for phase in phases[1:]:
        print(
            f"{phase.name:<24} p50 {phase.pct(50):7.1f} ms ({phase.pct(50) / healthz:5.1f}x "
            f"/healthz)  p99 {phase.pct(99):7.1f} ms",
            flush=True,
        )
    worst = max(p.pct(99) for p in phases if p.name.startswith("broker"))
    print(
        f"broker p99 < {BROKER_TARGET_MS:.0f} ms at {BROKER_MAX_CHARS} chars: "
        f"{verdict(worst < BROKER_TARGET_MS)} ({worst:.1f} ms)",
        flush=True,
    )
    return phases


async def _pg(admin_url: str, sql: str) -> None:
    import asyncpg  # PostgreSQL runs only: asyncpg comes with tortoise's asyncpg extra

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memories", type=int, default=100_000, help="default 100000")
    parser.add_argument("--agents", type=int, default=1_000, help="default 1000")
    parser.add_argument("--repos", type=int, default=50, help="default 50")
    parser.add_argument("--requests", type=int, default=400, help="per phase (default 400)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="workers (default 1: latency without queueing behind one another)",
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server (postgres://…/db): a fresh database is made on it for the run",
    )
    parser.add_argument("--no-index", action="store_true", help="drop the trigram indexes")
    args = parser.parse_args()
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory(prefix="relay-bench-memory-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        env: dict[str, str] = {"RELAY_AGENT_STALE_SECONDS": "3600"}
        database = f"sqlite://{data_dir / 'relay.sqlite3'}"
        pg_name = None
        if args.database_url:
            pg_name = f"relay_bench_{secrets.token_hex(4)}"
            asyncio.run(_pg(args.database_url, f'CREATE DATABASE "{pg_name}"'))
            database = with_database(args.database_url, pg_name)
            env["RELAY_DATABASE_URL"] = database
        try:
            token = secrets.token_urlsafe(24)
            env["RELAY_SECRET"] = secrets.token_urlsafe(48)
            seed(database, args, (token, env["RELAY_SECRET"]))
            server = start_server(data_dir, free_port(), token, Path(tmp) / "server.log", env)
            try:
                backend = "PostgreSQL" if pg_name else "SQLite"
                index = "without index" if args.no_index else "with trigram index"
                print(
                    f"== memory: {args.memories} memories, {args.agents} agents, "
                    f"{args.repos} repos; {backend}, {index}; pid={server.pid}",
                    flush=True,
                )
                phases = asyncio.run(benchmark(server, args))
                problems = server.log_problems()
                if problems:
                    print(f"server logged {problems} ERROR/Traceback lines", flush=True)
            finally:
                stop_server(server)
        finally:
            if pg_name is not None and args.database_url:
                asyncio.run(_pg(args.database_url, f'DROP DATABASE IF EXISTS "{pg_name}"'))
    if warning := noise_warning(phases):
        print(warning, flush=True)


if __name__ == "__main__":
    main()
