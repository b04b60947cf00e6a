"""Tasks and artifacts (issue 20): agents claiming, working and completing routed tasks.

    .venv/bin/python -m bench.tasks [--agents 200] [--tasks 10000] [--rate 100]
        [--steady-seconds 30] [--crash-tasks 10000] [--database-url postgres://…/postgres]
        [--profile steady.txt]

One ``relay serve`` on 127.0.0.1 (SQLite in a fresh data dir, or a fresh PostgreSQL
database created for the run and dropped at the end), the root token acting for every
agent (``agentId``). ``--agents`` agents are registered with capabilities, a label, tags
and a provider drawn so that every combination occurs; each task's routing hints name a
subset of those (some a preferred agent), so not every agent may take every task. The
phases:

1. Artifacts: three uploads of ``--artifact-mib`` (25) MiB of random bytes, the same bytes
   again (stored once) and one byte over the limit (413), then one download: MiB/s and the
   server's VmRSS sampled every 5 ms and VmHWM before and after (target: the peak does not
   grow by the file's size).
2. Throughput: ``--tasks`` tasks created, then every agent in a closed loop of claim-next →
   ``working`` → ``completed`` until claim-next hands it nothing: tasks/s next to
   ``GET /healthz`` req/s at the same concurrency (same run).
3. Steady claims: ``--rate`` claim-next per second on a fixed schedule for
   ``--steady-seconds`` (round-robin over the agents), each claimed task completed after
   its claim: claim p50/p99 from the scheduled send (target p99 < 50 ms).
4. kill -9: ``--crash-tasks`` tasks with 30 s leases, the agents' closed loop, SIGKILL once
   half are completed, restart on the same data dir and port; the agents retry what the
   kill cut (a claim whose reply was lost leaves a task held until its lease passes and the
   lease-expiry job puts it back). Targets: every task ends ``completed``, exactly once.

Every claim is checked: the task's hints admit the claimer (client-side copy of the
rule), and no task is handed to a second agent while the first one's lease runs and it
has not let go ("held twice"). At the end every task is read back through the API.
Nothing leaves 127.0.0.1; every wait is bounded; the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import secrets
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import (
    HEADER,
    CpuMeter,
    Phase,
    Request,
    Server,
    closed_loop,
    free_port,
    kill9,
    new_session,
    noise_warning,
    percentile,
    print_phase,
    proc_status,
    run_closed_loop,
    run_open_loop,
    start_server,
    stop_server,
    verdict,
)
from bench.profiling import Profiler

CAPABILITIES = ("python", "go", "rust", "sql")
CAPABILITY_PAIRS = tuple(itertools.combinations(CAPABILITIES, 2))  # 6
LABELS = ("east", "west")
PROVIDERS = ("anthropic", "openai")
GPU = "gpu"
CONTEXT_SIZE = 400  # tasks per contextId, so a batch reads back with ?contextId=&limit=500
CLAIM_TARGET_MS = 50.0
CRASH_LEASE_S = 30
CRASH_DEADLINE_S = 180.0
RSS_SAMPLE_S = 0.005
MIB = 1024 * 1024


# -- agents and hints -----------------------------------------------------------------------


@dataclass(frozen=True)
class Agent:
    id: str
    capabilities: tuple[str, ...]
    label: str
    tags: tuple[str, ...]
    provider: str

    def registration(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tags": list(self.tags),
            "meta": {
                "capabilities": list(self.capabilities),
                "label": self.label,
                "provider": self.provider,
            },
        }

    def eligible(self, hints: dict[str, Any]) -> bool:
        """spec/tasks.md's rule but its last clause (a preferred agent not online may be
        passed over: these agents do not heartbeat, so they go stale)."""
        if not set(hints.get("requiredCapabilities", ())) <= set(self.capabilities):
            return False
        labels = hints.get("labels") or []
        if labels and self.label not in labels:
            return False
        if not set(hints.get("tags", ())) <= set(self.tags):
            return False
        provider = hints.get("provider")
        return provider is None or provider == self.provider


def make_agents(count: int) -> list[Agent]:
    """Agent n takes combination n mod 48 (6 capability pairs x 2 labels x gpu or not x 2
    providers), so with 48 agents or more every combination occurs."""
    agents = []
    for n in range(count):
        caps, rest = n % 6, n // 6
        label, rest = rest % 2, rest // 2
        gpu, rest = rest % 2, rest // 2
        provider = rest % 2
        agents.append(
            Agent(
                f"bench-agent-{n:04d}",
                CAPABILITY_PAIRS[caps],
                LABELS[label],
                (GPU, "bench") if gpu else ("bench",),
                PROVIDERS[provider],
            )
        )
    return agents


def make_hints(rng: random.Random, agents: list[Agent]) -> dict[str, Any]:
    """One capability always; a label half the time, the gpu tag a tenth, a provider a
    third; 5 % prefer one agent (with hints it meets)."""
    if rng.random() < 0.05:
        agent = rng.choice(agents)
        return {
            "requiredCapabilities": [rng.choice(agent.capabilities)],
            "labels": [agent.label],
            "tags": list(agent.tags[:1]),
            "preferredAgentId": agent.id,
        }
    hints: dict[str, Any] = {"requiredCapabilities": [rng.choice(CAPABILITIES)]}
    if rng.random() < 0.5:
        hints["labels"] = [rng.choice(LABELS)]
    if rng.random() < 0.1:
        hints["tags"] = [GPU]
    if rng.random() < 1 / 3:
        hints["provider"] = rng.choice(PROVIDERS)
    return hints


# -- what the agents saw --------------------------------------------------------------------


@dataclass
class Claim:
    task_id: str
    agent: str
    updated_at: int  # server ms: when the claim was made
    lease_expires_at: int
    attempt: int


@dataclass
class Ledger:
    """Every claim and every completion the agents were told about."""

    hints: dict[str, dict[str, Any]] = field(default_factory=dict)  # task id -> hints
    context_ids: set[str] = field(default_factory=set)
    claims: dict[str, list[Claim]] = field(default_factory=dict)
    # task id -> server ms when its holder let go (a completion or a release it was told of)
    let_go: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    completed_acked: dict[str, int] = field(default_factory=dict)  # 200s to `completed`
    completed_before_kill: set[str] = field(default_factory=set)  # retry got `task is completed`
    misrouted: int = 0
    preferred_by_another: int = 0  # allowed once the preferred agent is not online
    claims_null: int = 0
    status_refused: dict[str, int] = field(default_factory=dict)

    def claimed(self, task: dict[str, Any], agent: Agent) -> None:
        task_id = task["id"]
        self.claims.setdefault(task_id, []).append(
            Claim(task_id, agent.id, task["updatedAt"], task["leaseExpiresAt"], task["attempt"])
        )
        if not agent.eligible(task["routingHints"]):
            self.misrouted += 1
        elif task["routingHints"].get("preferredAgentId") not in (None, agent.id):
            self.preferred_by_another += 1

    def done(self, task_id: str) -> bool:
        return task_id in self.completed_acked or task_id in self.completed_before_kill

    def held_twice(self) -> int:
        """Claims handed out while an earlier holder's lease ran and it had not let go."""
        count = 0
        for task_id, claims in self.claims.items():
            ordered = sorted(claims, key=lambda c: c.updated_at)
            for first, second in itertools.pairwise(ordered):
                released = [
                    at
                    for who, at in self.let_go.get(task_id, [])
                    if who == first.agent and at <= second.updated_at
                ]
                if second.updated_at < first.lease_expires_at and not released:
                    count += 1
        return count

    def claimed_more_than_once(self) -> int:
        return sum(1 for claims in self.claims.values() if len(claims) > 1)


# -- HTTP -----------------------------------------------------------------------------------


class Down(Exception):
    """The server did not answer (killed, restarting)."""


async def call(
    session: aiohttp.ClientSession, server: Server, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    try:
        async with session.request(
            method,
            server.base + path,
            data=json.dumps(body) if body is not None else None,
            headers={**server.auth, "Content-Type": "application/json"},
        ) as response:
            payload = await response.json(content_type=None)
            return response.status, payload
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise Down(type(exc).__name__) from exc


async def register_agents(
    session: aiohttp.ClientSession, server: Server, agents: list[Agent]
) -> Phase:
    async def attempt(index: int) -> str | None:
        status, body = await call(
            session, server, "POST", "/api/agents", agents[index].registration()
        )
        return None if status in (200, 201) else f"HTTP {status} {body}"

    return await run_closed_loop("register agents", attempt, len(agents), 32, server.pid)


async def create_tasks(
    session: aiohttp.ClientSession,
    server: Server,
    ledger: Ledger,
    agents: list[Agent],
    count: int,
    rng: random.Random,
    name: str,
) -> tuple[Phase, list[str]]:
    """``count`` tasks in contexts of ``CONTEXT_SIZE``; their ids in creation order."""
    contexts = [f"ctx_{uuid.uuid4().hex}" for _ in range(-(-count // CONTEXT_SIZE))]
    ledger.context_ids.update(contexts)
    plans = [(contexts[i // CONTEXT_SIZE], make_hints(rng, agents)) for i in range(count)]
    ids: list[str | None] = [None] * count

    async def attempt(index: int) -> str | None:
        context, hints = plans[index]
        body = {"title": f"bench task {index}", "contextId": context, "routingHints": hints}
        try:
            status, task = await call(session, server, "POST", "/api/tasks", body)
        except Down as exc:
            return str(exc)
        if status != 201:
            return f"HTTP {status}"
        ids[index] = task["id"]
        ledger.hints[task["id"]] = hints
        return None

    phase = await run_closed_loop(name, attempt, count, 32, server.pid)
    return phase, [i for i in ids if i is not None]


# -- one agent's work -----------------------------------------------------------------------

Retry = Callable[[], Awaitable[None]]


@dataclass
class Worker:
    """An agent's closed loop: claim-next, ``working``, ``completed``, until none is left.

    With ``retry`` (the kill -9 phase) a request the server did not answer waits for the
    restart and is sent again; without, it counts as an error.
    """

    session: aiohttp.ClientSession
    server_ref: list[Server]
    ledger: Ledger
    lease_seconds: int | None = None
    retry: Retry | None = None
    keep_going: Callable[[], bool] | None = None  # after an empty claim: try again?
    errors: dict[str, int] = field(default_factory=dict)
    claim_ms: list[float] = field(default_factory=list)
    completed: int = 0
    milestone: tuple[int, asyncio.Event] | None = None  # set the event at that many completed

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any] | None:
        while True:
            try:
                return await call(self.session, self.server_ref[0], method, path, body)
            except Down as exc:
                self.errors[str(exc)] = self.errors.get(str(exc), 0) + 1
                if self.retry is None:
                    return None
                await self.retry()

    async def claim(self, agent: Agent) -> dict[str, Any] | None:
        body: dict[str, Any] = {"agentId": agent.id}
        if self.lease_seconds is not None:
            body["leaseSeconds"] = self.lease_seconds
        started = time.perf_counter()
        reply = await self.request("POST", "/api/tasks/claim", body)
        self.claim_ms.append((time.perf_counter() - started) * 1000)
        if reply is None:
            return None
        status, payload = reply
        if status != 200:
            self.errors[f"claim HTTP {status}"] = self.errors.get(f"claim HTTP {status}", 0) + 1
            return None
        task = payload["task"]
        if task is None:
            self.ledger.claims_null += 1
            return None
        self.ledger.claimed(task, agent)
        return dict(task)

    async def report(self, agent: Agent, task_id: str, status: str) -> bool:
        """Whether the agent still holds the task (False: it was told otherwise)."""
        # The root token acts for the assignee: the board checks the stored one.
        body: dict[str, Any] = {"status": status}
        if status == "completed":
            body["result"] = {"by": agent.id}
        else:
            body["message"] = "on it"
        reply = await self.request("POST", f"/api/tasks/{task_id}/status", body)
        if reply is None:
            return False
        code, payload = reply
        if code == 200:
            if status == "completed":
                self.ledger.completed_acked[task_id] = (
                    self.ledger.completed_acked.get(task_id, 0) + 1
                )
                self.ledger.let_go.setdefault(task_id, []).append((agent.id, payload["updatedAt"]))
                self.completed += 1
                if self.milestone is not None and self.completed >= self.milestone[0]:
                    self.milestone[1].set()
            return True
        message = payload.get("error", "") if isinstance(payload, dict) else ""
        # A retry after a kill whose first send had been committed.
        if status == "completed" and message == "task is completed" and self.retry is not None:
            self.ledger.completed_before_kill.add(task_id)
            return False
        if status == "working" and message == "cannot move task from working to working":
            return True
        label = f"{status}: {code} {message}"
        self.ledger.status_refused[label] = self.ledger.status_refused.get(label, 0) + 1
        return False

    async def run(self, agent: Agent) -> None:
        while True:
            task = await self.claim(agent)
            if task is None:
                if self.keep_going is not None and self.keep_going():
                    await asyncio.sleep(0.5)
                    continue
                return
            if await self.report(agent, task["id"], "working"):
                await self.report(agent, task["id"], "completed")


# -- phases ---------------------------------------------------------------------------------


@dataclass
class RssWatch:
    pid: int
    peak_kb: int = 0
    running: bool = True

    async def watch(self) -> None:
        while self.running:
            self.peak_kb = max(self.peak_kb, _kb(proc_status(self.pid)["VmRSS"]))
            await asyncio.sleep(RSS_SAMPLE_S)


def _kb(value: str) -> int:
    return int(value.split()[0])


async def artifacts_phase(server: Server, mib: int) -> list[str]:
    lines = []
    size = mib * MIB
    blobs = [os.urandom(size) for _ in range(3)]
    status0 = proc_status(server.pid)
    rss0, hwm0 = _kb(status0["VmRSS"]) / 1024, _kb(status0["VmHWM"]) / 1024
    lines.append(f"before: VmRSS {rss0:.1f} MB, VmHWM {hwm0:.1f} MB")
    async with new_session(limit=4) as session:
        uploads = [*((f"upload {mib} MiB #{n + 1}", blob) for n, blob in enumerate(blobs))]
        uploads.append((f"upload {mib} MiB again (same bytes)", blobs[0]))
        uploads.append((f"upload {mib} MiB + 1 byte (over)", blobs[1] + b"x"))
        artifact_id = None
        for name, blob in uploads:
            before = _kb(proc_status(server.pid)["VmRSS"])
            watch = RssWatch(server.pid, before)
            watcher = asyncio.ensure_future(watch.watch())
            started = time.perf_counter()
            async with session.post(
                f"{server.base}/api/artifacts?name=blob.bin&kind=data",
                data=blob,
                headers={**server.auth, "Content-Type": "application/octet-stream"},
            ) as response:
                payload = await response.json(content_type=None)
                code = response.status
            took = time.perf_counter() - started
            watch.running = False
            await watcher
            if code == 201 and artifact_id is None:
                artifact_id = payload["artifact"]["id"]
            lines.append(
                f"{name:<34} HTTP {code} {len(blob) / MIB / took:7.1f} MiB/s  VmRSS before "
                f"{before / 1024:6.1f} MB, peak {watch.peak_kb / 1024:6.1f} MB "
                f"(+{(watch.peak_kb - before) / 1024:.1f} MB)"
            )
        if artifact_id is not None:
            before = _kb(proc_status(server.pid)["VmRSS"])
            watch = RssWatch(server.pid, before)
            watcher = asyncio.ensure_future(watch.watch())
            started = time.perf_counter()
            got = 0
            async with session.get(
                f"{server.base}/api/artifacts/{artifact_id}/content", headers=server.auth
            ) as response:
                async for chunk in response.content.iter_chunked(1 << 20):
                    got += len(chunk)
            took = time.perf_counter() - started
            watch.running = False
            await watcher
            lines.append(
                f"{'download ' + str(mib) + ' MiB':<34} HTTP {response.status} "
                f"{got / MIB / took:7.1f} MiB/s  VmRSS before {before / 1024:6.1f} MB, peak "
                f"{watch.peak_kb / 1024:6.1f} MB (+{(watch.peak_kb - before) / 1024:.1f} MB)"
            )
    blob_dir = server.data_dir / "artifacts" / "sha256"
    stored = sum(1 for p in blob_dir.rglob("*") if p.is_file()) if blob_dir.exists() else -1
    status1 = proc_status(server.pid)
    rss1, hwm1 = _kb(status1["VmRSS"]) / 1024, _kb(status1["VmHWM"]) / 1024
    growth = hwm1 - hwm0
    lines.append(
        f"after: VmRSS {rss1:.1f} MB, VmHWM {hwm1:.1f} MB "
        f"(peak grew {growth:.1f} MB for {mib} MiB files: target < {mib} MB: "
        f"{verdict(growth < mib)}); blobs on disk: {stored} (3 distinct uploaded)"
    )
    return lines


async def work(
    server_ref: list[Server],
    agents: list[Agent],
    worker: Worker,
    name: str,
) -> Phase:
    phase = Phase(name)
    meter = CpuMeter(server_ref[0].pid)
    started = time.perf_counter()
    await asyncio.gather(*(worker.run(agent) for agent in agents))
    phase.wall_s = time.perf_counter() - started
    phase.cpu = meter.stop()
    phase.sent = len(worker.claim_ms)
    phase.ok = worker.completed
    phase.latencies_ms = list(worker.claim_ms)
    phase.errors = dict(worker.errors)
    return phase


async def steady_claims(
    session: aiohttp.ClientSession,
    server: Server,
    agents: list[Agent],
    ledger: Ledger,
    rate: float,
    seconds: float,
) -> tuple[Phase, Phase]:
    """Claims on a fixed schedule; each claimed task completed right after (not timed in
    the claim's latency, timed on its own)."""
    completes = Phase("  then completed (after claim)")
    worker = Worker(session, [server], ledger)
    timeline: list[tuple[float, float]] = []  # (scheduled epoch, latency ms) per claim
    pending: set[asyncio.Task[None]] = set()

    async def complete(agent: Agent, task_id: str) -> None:
        started = time.perf_counter()
        ok = await worker.report(agent, task_id, "completed")
        completes.record((time.perf_counter() - started) * 1000, None if ok else "refused")

    async def attempt(index: int, scheduled: float) -> str | None:
        agent = agents[index % len(agents)]
        body = {"agentId": agent.id}
        try:
            status, payload = await call(session, server, "POST", "/api/tasks/claim", body)
        except Down as exc:
            return str(exc)
        finally:
            timeline.append((scheduled, (time.time() - scheduled) * 1000))
        if status != 200:
            return f"HTTP {status}"
        task = payload["task"]
        if task is None:
            ledger.claims_null += 1
            return None
        ledger.claimed(task, agent)
        job = asyncio.ensure_future(complete(agent, task["id"]))
        pending.add(job)
        job.add_done_callback(pending.discard)
        return None

    total = round(rate * seconds)
    phase, lag = await run_open_loop(
        f"open {rate:g}/s POST /api/tasks/claim", attempt, rate, total, server.pid
    )
    if pending:
        await asyncio.wait(pending, timeout=60)
    completes.sent = len(completes.latencies_ms)
    completes.wall_s = phase.wall_s
    if lag > 100:
        phase.errors[f"generator lag up to {lag:.0f} ms"] = 1
    print(_windows(timeline), flush=True)
    return phase, completes


def _windows(timeline: list[tuple[float, float]], window_s: float = 5.0) -> str:
    """Claim p99 and max per window of the schedule: a steady cost and a stall differ."""
    if not timeline:
        return "per window: no claims"
    start = min(t for t, _ in timeline)
    windows: dict[int, list[float]] = {}
    for scheduled, latency in timeline:
        windows.setdefault(int((scheduled - start) // window_s), []).append(latency)
    cells = []
    for key in sorted(windows):
        values = sorted(windows[key])
        cells.append(f"{percentile(values, 99):.0f}/{values[-1]:.0f}")
    return f"  claim p99/max ms per {window_s:g} s window: {' '.join(cells)}"


async def read_back(
    session: aiohttp.ClientSession, server: Server, ledger: Ledger, task_ids: list[str]
) -> dict[str, Any]:
    """Every context of the run, listed: status counts of ``task_ids``, and those missing."""
    wanted = set(task_ids)
    found: dict[str, dict[str, Any]] = {}
    for context in sorted(ledger.context_ids):
        status, rows = await call(
            session, server, "GET", f"/api/tasks?contextId={context}&limit=500"
        )
        assert status == 200, rows
        for row in rows:
            if row["id"] in wanted:
                found[row["id"]] = row
    statuses: dict[str, int] = {}
    for row in found.values():
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    wrong_holder = sum(
        1
        for task_id, row in found.items()
        if row["status"] == "completed"
        and task_id in ledger.completed_acked
        and (row["result"] or {}).get("by") != row["assignee"]
    )
    return {
        "statuses": statuses,
        "missing": len(wanted - set(found)),
        "result not by its assignee": wrong_holder,
    }


def cancel_attempt(
    session: aiohttp.ClientSession, server: Server, task_ids: list[str]
) -> Callable[[int], Awaitable[str | None]]:
    async def attempt(index: int) -> str | None:
        try:
            status, _ = await call(session, server, "POST", f"/api/tasks/{task_ids[index]}/cancel")
        except Down as exc:
            return str(exc)
        return None if status == 200 else f"HTTP {status}"

    return attempt


def _uptime() -> str:
    out = subprocess.run(["uptime"], capture_output=True, text=True, check=False)  # noqa: S607
    return out.stdout.strip()


async def healthz(session: aiohttp.ClientSession, server: Server, count: int, c: int) -> Phase:
    def request(_i: int) -> Request:
        return ("GET", f"{server.base}/healthz", None)

    await closed_loop(session, "warm-up", request, 1_000, c, {}, server.pid)
    return await closed_loop(
        session, f"closed c={c} GET /healthz", request, count, c, {}, server.pid
    )


async def benchmark(args: argparse.Namespace, server: Server, store: str) -> None:
    rng = random.Random(args.seed)
    agents = make_agents(args.agents)
    ledger = Ledger()
    print(
        f"== tasks benchmark ({store}): server pid={server.pid} {server.base} "
        f"data-dir={server.data_dir}; {os.cpu_count()} cores; load: {_uptime()}",
        flush=True,
    )
    print("-- artifacts", flush=True)
    for line in await artifacts_phase(server, args.artifact_mib):
        print(line, flush=True)

    c = args.agents
    phases: list[Phase] = []
    async with new_session(limit=c + 8) as session:
        print(HEADER, flush=True)
        registered = await register_agents(session, server, agents)
        print_phase(registered)
        created, first_ids = await create_tasks(
            session, server, ledger, agents, args.tasks, rng, f"POST /api/tasks x{args.tasks}"
        )
        print_phase(created)
        worker = Worker(session, [server], ledger)
        throughput = await work([server], agents, worker, f"{c} agents claim/work/complete")
        print_phase(throughput)
        bare = await healthz(session, server, max(args.tasks, 5_000), c)
        print_phase(bare)
        phases += [created, throughput, bare]
        after_first = await read_back(session, server, ledger, first_ids)

        steady_count = round(args.rate * args.steady_seconds * 1.5)
        created2, steady_ids = await create_tasks(
            session, server, ledger, agents, steady_count, rng, f"POST /api/tasks x{steady_count}"
        )
        print_phase(created2)
        nulls_before = ledger.claims_null
        profiler = Profiler.start(server.pid, args.profile) if args.profile else None
        try:
            steady, completes = await steady_claims(
                session, server, agents, ledger, args.rate, args.steady_seconds
            )
        finally:
            if profiler is not None:
                profiler.stop()
        print_phase(steady)
        print_phase(completes)
        steady_nulls = ledger.claims_null - nulls_before
        # What the steady phase left on the board goes, so the kill -9 phase has its own.
        left = [t for t in steady_ids if t not in ledger.claims]
        canceled = await run_closed_loop(
            f"cancel the {len(left)} left",
            cancel_attempt(session, server, left),
            len(left),
            32,
            server.pid,
        )
        print_phase(canceled)
        phases += [steady]
    load = _uptime()

    print()
    print(f"== summary ({store}); load after the run: {load}")
    tasks_per_s = throughput.ok / throughput.wall_s
    requests_per_s = (len(worker.claim_ms) + 2 * throughput.ok) / throughput.wall_s
    print(
        f"throughput: {throughput.ok} of {len(first_ids)} tasks completed by {c} agents in "
        f"{throughput.wall_s:.1f} s = {tasks_per_s:.0f} tasks/s ({requests_per_s:.0f} req/s: "
        f"claim + working + completed); GET /healthz {bare.rate:.0f} req/s at c={c} (same run): "
        f"tasks/s / healthz = {tasks_per_s / bare.rate:.3f}, req/s / healthz = "
        f"{requests_per_s / bare.rate:.2f}"
    )
    print(
        f"claim latency in the closed loop (c={c}, board starting with {args.tasks} open): p50 "
        f"{throughput.pct(50):.1f} ms, p99 {throughput.pct(99):.1f} ms"
    )
    print(f"read back: {after_first}")
    steady_p99 = steady.pct(99)
    print(
        f"steady: {steady.sent} claims at {args.rate:g}/s over {len(steady_ids)} tasks "
        f"({steady_nulls} found none): p50 {steady.pct(50):.1f} ms, p99 {steady_p99:.1f} ms "
        f"(target < {CLAIM_TARGET_MS:g} ms: {verdict(steady_p99 < CLAIM_TARGET_MS)}), failed "
        f"{steady.failed}"
    )
    print(
        f"claims: {sum(len(v) for v in ledger.claims.values())}; held twice: "
        f"{ledger.held_twice()} (target 0: {verdict(ledger.held_twice() == 0)}); claimed more "
        f"than once: {ledger.claimed_more_than_once()}; misrouted (hints refuse the claimer): "
        f"{ledger.misrouted}; preferring another agent: {ledger.preferred_by_another}; "
        f"completed twice: "
        f"{sum(1 for n in ledger.completed_acked.values() if n > 1)}; status refused: "
        f"{ledger.status_refused or 'none'}"
    )
    warning = noise_warning(phases)
    if warning:
        print(warning)
    print(f"server log: {server.log_problems()} ERROR/Traceback lines", flush=True)


# -- kill -9 --------------------------------------------------------------------------------


async def crash_benchmark(
    args: argparse.Namespace, server_ref: list[Server], restart: Callable[[], Server]
) -> None:
    rng = random.Random(args.seed + 1 if args.seed is not None else None)
    agents = make_agents(args.agents)
    ledger = Ledger()
    up = asyncio.Event()
    up.set()

    async def wait_up() -> None:
        await asyncio.wait_for(up.wait(), timeout=120)

    async with new_session(limit=args.agents + 8) as session:
        server = server_ref[0]
        await register_agents(session, server, agents)
        created, ids = await create_tasks(
            session, server, ledger, agents, args.crash_tasks, rng, "create"
        )
        assert created.failed == 0, created.errors
        wanted = set(ids)
        deadline = time.monotonic() + CRASH_DEADLINE_S

        def unfinished() -> bool:
            return time.monotonic() < deadline and any(not ledger.done(t) for t in wanted)

        half_done = asyncio.Event()
        worker = Worker(
            session,
            server_ref,
            ledger,
            lease_seconds=CRASH_LEASE_S,
            retry=wait_up,
            keep_going=unfinished,
            milestone=(len(ids) // 2, half_done),
        )
        killed_at: dict[str, Any] = {}

        async def killer() -> None:
            await half_done.wait()
            up.clear()
            kill9(server_ref[0])
            killed_at["completed"] = worker.completed
            started = time.perf_counter()
            server_ref[0] = await asyncio.to_thread(restart)
            killed_at["restart_s"] = time.perf_counter() - started
            up.set()

        started = time.perf_counter()
        await asyncio.gather(killer(), *(worker.run(agent) for agent in agents))
        took = time.perf_counter() - started
        result = await read_back(session, server_ref[0], ledger, ids)

    completed_once = sum(1 for t in ids if ledger.completed_acked.get(t, 0) == 1)
    twice = sum(1 for t in ids if ledger.completed_acked.get(t, 0) > 1)
    acked_or_committed = sum(1 for t in ids if ledger.done(t))
    not_completed = len(ids) - result["statuses"].get("completed", 0)
    print()
    print(
        f"== kill -9 mid-run: {len(ids)} tasks (leaseSeconds {CRASH_LEASE_S}), {args.agents} "
        f"agents; killed after {killed_at.get('completed')} completions acknowledged; "
        f"restart -> ready {killed_at.get('restart_s', float('nan')):.1f} s; "
        f"all done in {took:.1f} s"
    )
    print(
        f"completions acknowledged once: {completed_once}; committed before the kill but not "
        f"acknowledged (the retry got `task is completed`): {len(ledger.completed_before_kill)}; "
        f"acknowledged twice: {twice}; tasks known completed: {acked_or_committed}"
    )
    print(
        f"read back after the run: {result}; not completed (lost): {not_completed} "
        f"(target 0: {verdict(not_completed == 0 and result['missing'] == 0)}); completed "
        f"twice: {twice} (target 0: {verdict(twice == 0)})"
    )
    print(
        f"claims: {sum(len(v) for v in ledger.claims.values())}; claimed more than once: "
        f"{ledger.claimed_more_than_once()} (a claim whose reply the kill cut: the task waits "
        f"for its lease); held twice: {ledger.held_twice()} (target 0: "
        f"{verdict(ledger.held_twice() == 0)}); misrouted: {ledger.misrouted}; "
        f"preferring another agent: {ledger.preferred_by_another}; "
        f"status refused: {ledger.status_refused or 'none'}; request errors: {worker.errors}"
    )
    print(f"server log: {server_ref[0].log_problems()} ERROR/Traceback lines; load: {_uptime()}")


# -- main -----------------------------------------------------------------------------------


async def _pg(admin_url: str, statement: str) -> None:
    import asyncpg  # the PostgreSQL driver relay itself uses

    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _run(args: argparse.Namespace, database_url: str | None, store: str) -> None:
    with tempfile.TemporaryDirectory(prefix="relay-bench-tasks-") as tmp:
        data_dir = Path(tmp) / "data"
        log_path = Path(tmp) / "server.log"
        port = free_port()
        root = secrets.token_urlsafe(24)
        env = {"RELAY_ARTIFACT_MAX_BYTES": str(args.artifact_mib * MIB)}

        def start() -> Server:
            return start_server(data_dir, port, root, log_path, env, database_url=database_url)

        server_ref = [start()]
        try:
            asyncio.run(benchmark(args, server_ref[0], store))
            if not args.skip_crash:
                asyncio.run(crash_benchmark(args, server_ref, start))
        finally:
            stop_server(server_ref[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=100.0, help="steady claims per second")
    parser.add_argument("--steady-seconds", type=float, default=30.0)
    parser.add_argument("--crash-tasks", type=int, default=10_000)
    parser.add_argument("--skip-crash", action="store_true")
    parser.add_argument("--artifact-mib", type=int, default=25)
    parser.add_argument("--database-url", help="PostgreSQL admin URL; a fresh database is made")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", help="py-spy record the steady claim phase into this file")
    args = parser.parse_args()
    database_url = None
    name = ""
    if args.database_url:
        name = f"relay_bench_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg(args.database_url, f'CREATE DATABASE "{name}"'))
        database_url = f"{args.database_url.rsplit('/', 1)[0]}/{name}"
    try:
        _run(args, database_url, "PostgreSQL" if database_url else "SQLite")
    finally:
        if database_url:
            asyncio.run(_pg(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
