"""Heartbeat load (issue 4): closed-loop throughput vs /healthz, then an open-loop steady load.

    .venv/bin/python -m bench.heartbeat [-n 20000] [--open-seconds 40] [--profile out.txt]
        [--database-url postgres://…]   (an empty database; default SQLite)

1. Registers 1,000 agents, then at concurrency 64 sends N ``GET /healthz`` and N
   heartbeats (ids round-robin over the 1,000 agents). Target: heartbeat req/s at least
   0.50x the /healthz req/s measured in the same run.
2. Registers 1,500 more and beats 2,500 agents every 10 s (250 heartbeats/s) on a fixed
   schedule whatever the replies, for ``--open-seconds``; latency counts from the scheduled
   send time. Target: p99 < 50 ms. Then /healthz on the same schedule, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from bench.common import (
    HEADER,
    Phase,
    Request,
    Server,
    banner,
    client_saturated,
    closed_loop,
    json_body,
    new_session,
    noise_warning,
    open_loop,
    print_phase,
    relay_server,
    threads_and_rss_mb,
    verdict,
)

CLOSED_AGENTS = 1_000
OPEN_AGENTS = 2_500
BEAT_EVERY_S = 10.0
CONCURRENCY = 64
RATIO_TARGET = 0.50
OPEN_P99_TARGET_MS = 50.0


def _agent_id(n: int) -> str:
    return f"bench-{n}"


async def _register(server: Server, session: aiohttp.ClientSession, first: int, last: int) -> Phase:
    base = server.base

    def request(i: int) -> Request:
        return ("POST", f"{base}/api/agents", json_body({"id": _agent_id(first + i)}))

    headers = {**server.auth, "Content-Type": "application/json"}
    return await closed_loop(
        session,
        f"register {first}..{last - 1}",
        request,
        last - first,
        CONCURRENCY,
        headers,
        server.pid,
    )


def _start_profiler(pid: int, out: Path) -> subprocess.Popen[bytes]:
    formats = {".svg": "flamegraph", ".json": "speedscope"}
    fmt = formats.get(out.suffix, "raw")
    py_spy = Path(sys.executable).with_name("py-spy")
    cmd = [str(py_spy), "record", "-p", str(pid), "-o", str(out), "-f", fmt]
    cmd += ["--threads", "--gil", "--nonblocking", "--rate", "100"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603


def _stop_profiler(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    if proc.returncode not in (0, -signal.SIGINT):
        print(f"py-spy: {err.decode(errors='replace')[-2000:]}", flush=True)


async def run(args: argparse.Namespace, server: Server) -> None:
    base = server.base
    banner("heartbeat benchmark", server, f" log-level={args.log_level or 'default'}")
    hb_headers = server.auth
    session = new_session(limit=max(CONCURRENCY, 1024))
    async with session:
        print(HEADER, flush=True)
        print_phase(await _register(server, session, 0, CLOSED_AGENTS))

        def healthz(_i: int) -> Request:
            return ("GET", f"{base}/healthz", None)

        def beat_closed(i: int) -> Request:
            return ("POST", f"{base}/api/agents/{_agent_id(i % CLOSED_AGENTS)}/heartbeat", None)

        # Warm-up (connections, code paths, every actor once), not counted.
        await closed_loop(session, "warm-up", healthz, 2_000, CONCURRENCY, {}, server.pid)
        await closed_loop(
            session, "warm-up", beat_closed, CLOSED_AGENTS, CONCURRENCY, hb_headers, server.pid
        )

        n = args.requests
        bare = await closed_loop(
            session, f"closed c={CONCURRENCY} GET /healthz", healthz, n, CONCURRENCY, {}, server.pid
        )
        print_phase(bare)
        profiler = _start_profiler(server.pid, args.profile) if args.profile else None
        beat = await closed_loop(
            session,
            f"closed c={CONCURRENCY} heartbeat",
            beat_closed,
            n,
            CONCURRENCY,
            hb_headers,
            server.pid,
        )
        if profiler is not None:
            _stop_profiler(profiler)
        print_phase(beat)
        threads, rss = threads_and_rss_mb(server.pid)
        print(f"server after closed loop: threads={threads} rss={rss:.0f} MB", flush=True)

        print_phase(await _register(server, session, CLOSED_AGENTS, OPEN_AGENTS))
        rate = OPEN_AGENTS / BEAT_EVERY_S

        def beat_open(i: int) -> Request:
            return ("POST", f"{base}/api/agents/{_agent_id(i % OPEN_AGENTS)}/heartbeat", None)

        open_beat, beat_lag = await open_loop(
            session,
            f"open {rate:.0f}/s heartbeat",
            beat_open,
            rate,
            args.open_seconds,
            hb_headers,
            server.pid,
        )
        print_phase(open_beat)
        open_bare, bare_lag = await open_loop(
            session,
            f"open {rate:.0f}/s GET /healthz",
            healthz,
            rate,
            args.open_healthz_seconds,
            {},
            server.pid,
        )
        print_phase(open_bare)
        threads, rss = threads_and_rss_mb(server.pid)
        print(f"server after open loop: threads={threads} rss={rss:.0f} MB", flush=True)

    ratio = beat.rate / bare.rate
    print()
    print("== summary")
    print(
        f"closed loop c={CONCURRENCY}, N={n}: heartbeat {beat.rate:.0f} req/s, "
        f"/healthz {bare.rate:.0f} req/s, ratio {ratio:.2f} "
        f"(target >= {RATIO_TARGET:.2f}: {verdict(ratio >= RATIO_TARGET and beat.failed == 0)})"
    )
    print(
        f"closed loop p99: heartbeat {beat.pct(99):.1f} ms vs /healthz {bare.pct(99):.1f} ms; "
        f"p50: {beat.pct(50):.1f} ms vs {bare.pct(50):.1f} ms"
    )
    print(
        f"open loop {rate:.0f}/s for {args.open_seconds:.0f} s: sent {open_beat.sent}, "
        f"failed {open_beat.failed}, p50 {open_beat.pct(50):.1f} ms, "
        f"p99 {open_beat.pct(99):.1f} ms, max {open_beat.pct(100):.1f} ms "
        f"(target p99 < {OPEN_P99_TARGET_MS:.0f} ms: "
        f"{verdict(open_beat.pct(99) < OPEN_P99_TARGET_MS and open_beat.failed == 0)}); "
        f"/healthz at the same rate: p99 {open_bare.pct(99):.1f} ms, "
        f"max {open_bare.pct(100):.1f} ms"
    )
    print(
        f"open loop worst send lag behind schedule: heartbeat {beat_lag:.1f} ms, "
        f"/healthz {bare_lag:.1f} ms"
    )
    cpu_b, cpu_h = bare.cpu, beat.cpu
    assert cpu_b is not None
    assert cpu_h is not None
    print(
        f"load generator CPU (% of one core): /healthz {cpu_b.client:.0f}, heartbeat "
        f"{cpu_h.client:.0f}; saturated: {client_saturated(cpu_b)} / {client_saturated(cpu_h)}; "
        f"other processes on the machine: {cpu_b.other:.0f} / {cpu_h.other:.0f}"
    )
    print(f"server log: {server.log_problems()} ERROR/Traceback lines")
    if warning := noise_warning([bare, beat, open_beat, open_bare]):
        print(warning)
    if args.profile:
        print(f"py-spy profile of the closed-loop heartbeat phase: {args.profile}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-n",
        "--requests",
        type=int,
        default=20_000,
        help="closed loop: heartbeats and /healthz requests each (default 20000)",
    )
    parser.add_argument(
        "--open-seconds", type=float, default=40.0, help="open-loop heartbeat duration"
    )
    parser.add_argument(
        "--open-healthz-seconds",
        type=float,
        default=10.0,
        help="open-loop /healthz duration at the same rate (default 10)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy record the server during the closed-loop heartbeat phase into this file "
        "(.svg flamegraph, .json speedscope, else collapsed stacks)",
    )
    parser.add_argument("--log-level", help="server log level (default: the server's, INFO)")
    parser.add_argument(
        "--database-url",
        help="serve on this (empty) PostgreSQL database instead of SQLite: on PostgreSQL the "
        "relay is elected and fences every write transaction",
    )
    args = parser.parse_args()
    env = {"RELAY_DATABASE_URL": args.database_url} if args.database_url else None
    with relay_server(env, log_level=args.log_level) as server:
        asyncio.run(run(args, server))


if __name__ == "__main__":
    main()
