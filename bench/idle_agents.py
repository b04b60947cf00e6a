"""Idle agents (issue 4): 10,000 registered agents must not cost 10,000 threads.

    .venv/bin/python -m bench.idle_agents [--agents 10000] [--idle-wait 120]

Starts the server with ``RELAY_ACTOR_IDLE_SECONDS=5``, registers the agents (one
registration plus one heartbeat each, concurrency 64), then polls the server's thread
count in /proc/<pid>/status until it drops back (bounded wait). Prints the server's
VmRSS and thread count at start, right after the registrations and once idle; /healthz
is measured at start and once idle. Targets: threads bounded by the active set (back to
the start-up count once idle, far below one per agent at any time), RSS < 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import time
from dataclasses import dataclass

import aiohttp

from bench.common import (
    HEADER,
    CpuMeter,
    Phase,
    Server,
    banner,
    client_saturated,
    closed_loop,
    json_body,
    new_session,
    noise_warning,
    print_phase,
    relay_server,
    send,
    threads_and_rss_mb,
    verdict,
)

IDLE_SECONDS = 5
CONCURRENCY = 64
HEALTHZ_REQUESTS = 5_000
RSS_TARGET_MB = 300.0
THREAD_SLACK = 4  # worker threads the runtime may keep around (trio's thread cache, ...)
IDLE_STABLE_S = 3.0  # idle = the thread count stayed near the start-up one this long


async def _healthz(server: Server, session: aiohttp.ClientSession, name: str) -> Phase:
    url = f"{server.base}/healthz"
    return await closed_loop(
        session, name, lambda _i: ("GET", url, None), HEALTHZ_REQUESTS, CONCURRENCY, {}, server.pid
    )


@dataclass
class Registration:
    register: Phase
    beat: Phase
    peak_threads: int = 0
    active_at_peak: int = 0  # agents the client touched within ACTIVE_WINDOW_S of that sample
    max_active: int = 0


# An actor lives from its first message until a sweep (every idle/2 s) finds it idle for
# IDLE_SECONDS, and its thread then needs a moment to end: the active set is what the
# client touched within this window.
ACTIVE_WINDOW_S = IDLE_SECONDS * 1.5 + 1.0


async def _register_and_beat(
    server: Server, session: aiohttp.ClientSession, agents: int
) -> Registration:
    """Each worker registers its next agent, then heartbeats it; threads sampled meanwhile."""
    result = Registration(Phase(f"register ({agents})"), Phase(f"heartbeat after reg. ({agents})"))
    json_headers = {**server.auth, "Content-Type": "application/json"}
    next_agent = 0
    touched: collections.deque[float] = collections.deque()  # when each agent was last touched
    done = asyncio.Event()

    async def worker() -> None:
        nonlocal next_agent
        while next_agent < agents:
            agent_id = f"bench-{next_agent}"
            next_agent += 1
            started = time.perf_counter()
            body = json_body({"id": agent_id})
            error = await send(session, ("POST", f"{server.base}/api/agents", body), json_headers)
            result.register.record((time.perf_counter() - started) * 1000, error)
            started = time.perf_counter()
            url = f"{server.base}/api/agents/{agent_id}/heartbeat"
            error = await send(session, ("POST", url, None), server.auth)
            finished = time.perf_counter()
            result.beat.record((finished - started) * 1000, error)
            touched.append(finished)

    async def sample_threads() -> None:
        while not done.is_set():
            now = time.perf_counter()
            while touched and touched[0] < now - ACTIVE_WINDOW_S:
                touched.popleft()
            active = len(touched) + CONCURRENCY  # plus those in flight
            threads = threads_and_rss_mb(server.pid)[0]
            result.max_active = max(result.max_active, active)
            if threads > result.peak_threads:
                result.peak_threads, result.active_at_peak = threads, active
            await asyncio.sleep(0.2)

    sampler = asyncio.create_task(sample_threads())
    meter = CpuMeter(server.pid)
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    wall = time.perf_counter() - started
    cpu = meter.stop()
    done.set()
    await sampler
    for phase in (result.register, result.beat):
        phase.sent = agents
        phase.wall_s = wall
        phase.cpu = cpu
    return result


async def _wait_idle(
    pid: int, baseline: int, limit_s: float
) -> tuple[float, bool, list[tuple[float, int]]]:
    """Poll the thread count until it stays near ``baseline`` for IDLE_STABLE_S.

    Returns (seconds until it first got there for good, reached, a timeline every 2 s).
    """
    started = time.monotonic()
    quiet_since: float | None = None
    timeline: list[tuple[float, int]] = []
    while (now := time.monotonic()) - started < limit_s:
        threads = threads_and_rss_mb(pid)[0]
        if not timeline or now - started >= timeline[-1][0] + 2:
            timeline.append((now - started, threads))
        if threads <= baseline + THREAD_SLACK:
            quiet_since = now if quiet_since is None else quiet_since
            if now - quiet_since >= IDLE_STABLE_S:
                return quiet_since - started, True, timeline
        else:
            quiet_since = None
        await asyncio.sleep(0.5)
    return time.monotonic() - started, False, timeline


async def _count_agents(server: Server, session: aiohttp.ClientSession) -> collections.Counter[str]:
    """Agents by status, through GET /api/agents."""
    async with session.get(f"{server.base}/api/agents", headers=server.auth) as response:
        cards = await response.json()
    return collections.Counter(card.get("status", "?") for card in cards)


async def run(args: argparse.Namespace, server: Server) -> None:
    banner("idle agents benchmark", server, f" RELAY_ACTOR_IDLE_SECONDS={IDLE_SECONDS}")
    pid = server.pid
    async with new_session(limit=CONCURRENCY) as session:
        print(HEADER, flush=True)
        bare0 = await _healthz(server, session, "closed c=64 GET /healthz, start")
        print_phase(bare0)
        await asyncio.sleep(IDLE_SECONDS * 2)  # let the start-up worker threads retire
        threads0, rss0 = threads_and_rss_mb(pid)

        reg = await _register_and_beat(server, session, args.agents)
        threads1, rss1 = threads_and_rss_mb(pid)
        print_phase(reg.register)
        print_phase(reg.beat)

        idle_s, reached, timeline = await _wait_idle(pid, threads0, args.idle_wait)
        threads2, rss2 = threads_and_rss_mb(pid)
        bare2 = await _healthz(server, session, "closed c=64 GET /healthz, idle")
        print_phase(bare2)
        statuses = await _count_agents(server, session)

    pairs = args.agents / reg.register.wall_s
    print()
    print("== summary")
    print(f"{'server':<34} {'threads':>8} {'VmRSS MB':>9}")
    print(f"{'at start (after /healthz)':<34} {threads0:>8} {rss0:>9.0f}")
    print(f"{'peak during registrations':<34} {reg.peak_threads:>8} {'':>9}")
    print(f"{'right after registrations':<34} {threads1:>8} {rss1:>9.0f}")
    wait_peak = max((n for _, n in timeline), default=0)
    print(f"{'peak waiting for idle (2 s samples)':<34} {wait_peak:>8} {'':>9}")
    print(f"{f'idle ({idle_s:.1f} s later)':<34} {threads2:>8} {rss2:>9.0f}")
    print(
        "threads while waiting for idle (s: threads): "
        + ", ".join(f"{t:.0f}: {n}" for t, n in timeline)
    )
    print(
        f"agents by status (GET /api/agents, after idle): {dict(statuses)}; back to the "
        f"start-up thread count (+{THREAD_SLACK}) for {IDLE_STABLE_S:.0f} s: "
        f"{'yes' if reached else f'NO (waited {args.idle_wait:.0f} s)'}"
    )
    # Not one thread per agent: the peak stays within twice the largest active set the
    # client made (agents touched in the last ACTIVE_WINDOW_S; the server's own jobs, such
    # as the stale reaper, may wake a few more), and the count returns to the start-up one.
    bound = 2 * reg.max_active + threads0 + THREAD_SLACK
    bounded = reached and reg.peak_threads <= bound
    print(
        f"threads bounded by the active set: {verdict(bounded)} (peak {reg.peak_threads} "
        f"threads with {reg.active_at_peak} agents touched in the last {ACTIVE_WINDOW_S:.1f} s; "
        f"largest such set {reg.max_active}, bound {bound}; {args.agents} agents registered; "
        f"{threads2} threads once idle vs {threads0} at start)"
    )
    if wait_peak > threads1:
        print(
            f"note: with no request in flight the server went back up to {wait_peak} threads "
            "while waiting for idle (its own jobs re-activating agents' actors)"
        )
    rss_max = max(rss1, rss2)
    print(
        f"RSS < {RSS_TARGET_MB:.0f} MB: {verdict(rss_max < RSS_TARGET_MB)} (max {rss_max:.0f} MB)"
    )
    print(
        f"registration + heartbeat: {pairs:.0f} agents/s ({2 * pairs:.0f} req/s), "
        f"{2 * pairs / bare0.rate:.2f}x /healthz at start ({bare0.rate:.0f} req/s)"
    )
    print(
        f"/healthz once idle: {bare2.rate:.0f} req/s = {bare2.rate / bare0.rate:.2f}x start; "
        f"p99 {bare2.pct(99):.1f} ms vs {bare0.pct(99):.1f} ms"
    )
    cpus = [p.cpu for p in (bare0, reg.register, bare2)]
    print(
        "load generator CPU (% of one core) /healthz, registrations, /healthz idle: "
        + ", ".join(f"{c.client:.0f}" if c else "?" for c in cpus)
        + f"; saturated: {', '.join(client_saturated(c) for c in cpus)}; "
        "other processes on the machine: " + ", ".join(f"{c.other:.0f}" if c else "?" for c in cpus)
    )
    print(f"server log: {server.log_problems()} ERROR/Traceback lines")
    if warning := noise_warning([bare0, reg.register, bare2]):
        print(warning)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=10_000, help="agents to register")
    parser.add_argument(
        "--idle-wait", type=float, default=120.0, help="longest wait for the threads to drop (s)"
    )
    parser.add_argument("--log-level", help="server log level (default: the server's, INFO)")
    args = parser.parse_args()
    env = {"RELAY_ACTOR_IDLE_SECONDS": str(IDLE_SECONDS)}
    with relay_server(env, log_level=args.log_level) as server:
        asyncio.run(run(args, server))


if __name__ == "__main__":
    main()
