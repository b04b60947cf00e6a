"""Open connections (issue 23): does a crowd of waiting clients slow the API down?

    .venv/bin/python -m bench.connections [--seconds 15] [--rate 100] [--long-poll-wait 5]

1. ``GET /healthz`` open loop (``--rate``/s on kept-alive connections, plus 10/s each on a
   fresh connection) on a server with nothing open: p50/p99/max, the baseline.
2. Opens 500 idle keep-alive connections (one request each, then silence), 50 slow
   clients (a request sent a header line every 0.5 s, never finished), 200 long-polls
   (``GET /api/orchestrators/o{i}/commands?wait=W``, all sent together, so they expire
   together; each is sent again at once when it returns) and 100 event streams, then the
   same ``/healthz`` probe for ``--seconds``.

Prints /healthz p50/p99/max on kept-alive and on fresh connections with and without the
crowd, the longest stall (the largest /healthz latency, and the largest gap between two
replies), and p99/max in the two seconds around each moment the long-polls expired.
Targets: p99 < 50 ms, no stall over 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
from dataclasses import dataclass, field

import aiohttp

from bench.common import (
    HOST,
    CpuMeter,
    CpuUse,
    Server,
    json_body,
    new_session,
    percentile,
    relay_server,
    send,
    verdict,
)
from bench.profiling import Profiler

IDLE = 500
SLOW = 50
LONG_POLLS = 200
STREAMS = 100
FRESH_RATE = 10.0
P99_TARGET_MS = 50.0
STALL_TARGET_MS = 200.0


@dataclass
class Probe:
    """``/healthz`` latencies with the time (monotonic) each request was scheduled."""

    name: str
    samples: list[tuple[float, float]] = field(default_factory=list)  # (scheduled, ms)
    done_at: list[float] = field(default_factory=list)
    failed: int = 0
    cpu: CpuUse | None = None

    def pct(self, p: float, window: tuple[float, float] | None = None) -> float:
        values = sorted(
            ms for at, ms in self.samples if window is None or window[0] <= at < window[1]
        )
        return percentile(values, p)

    def longest_gap_ms(self) -> float:
        done = sorted(self.done_at)
        return max((b - a for a, b in itertools.pairwise(done)), default=0.0) * 1000

    def line(self) -> str:
        cpu = self.cpu or CpuUse(float("nan"), float("nan"), float("nan"))
        return (
            f"{self.name:<44} {len(self.samples):>6} {self.failed:>6} {self.pct(50):>8.1f} "
            f"{self.pct(99):>8.1f} {self.pct(100):>8.1f} {self.longest_gap_ms():>8.0f} "
            f"{cpu.server:>7.0f} {cpu.client:>6.0f} {cpu.other:>6.0f}"
        )


HEADER = (
    f"{'probe':<44} {'sent':>6} {'failed':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
    f"{'gap ms':>8} {'cpu% sv':>7} {'client':>6} {'other':>6}"
)


async def _fresh_healthz(server: Server) -> str | None:
    """One ``GET /healthz`` on a new connection, closed after the reply."""
    try:
        reader, writer = await asyncio.open_connection(HOST, server.port)
    except OSError as exc:
        return type(exc).__name__
    try:
        writer.write(f"GET /healthz HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        await reader.read()
        return None if head.startswith(b"HTTP/1.1 200") else head.split(b"\r\n")[0].decode()
    except (OSError, asyncio.IncompleteReadError) as exc:
        return type(exc).__name__
    finally:
        writer.close()


async def _probe(server: Server, name: str, rate: float, seconds: float) -> tuple[Probe, Probe]:
    """``/healthz`` at ``rate``/s on kept-alive connections and 10/s on fresh ones, on a
    fixed schedule; latency counts from the scheduled send."""
    kept, fresh = Probe(f"{name}, kept-alive {rate:g}/s"), Probe(f"{name}, fresh 10/s")
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    async def one(probe: Probe, scheduled: float, attempt: asyncio.Future[str | None]) -> None:
        error = await attempt
        now = loop.time()
        probe.samples.append((scheduled, (now - scheduled) * 1000))
        probe.done_at.append(now)
        probe.failed += error is not None

    async with new_session(256) as session:
        meter = CpuMeter(server.pid)
        start = loop.time() + 0.05
        schedule = sorted(
            [(start + i / rate, kept) for i in range(round(rate * seconds))]
            + [(start + i / FRESH_RATE, fresh) for i in range(round(FRESH_RATE * seconds))],
            key=lambda item: item[0],
        )
        for scheduled, probe in schedule:
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            coro = (
                send(session, ("GET", f"{server.base}/healthz", None), {})
                if probe is kept
                else _fresh_healthz(server)
            )
            task = loop.create_task(one(probe, scheduled, asyncio.ensure_future(coro)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks, timeout=60)
        kept.cpu = fresh.cpu = meter.stop()
    return kept, fresh


async def _idle(server: Server) -> asyncio.StreamWriter:
    reader, writer = await asyncio.open_connection(HOST, server.port)
    writer.write(f"GET /healthz HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    await reader.readexactly(length)
    return writer


async def _slow(server: Server, stop: asyncio.Event) -> None:
    """A client that sends its request one header line every 0.5 s and never finishes."""
    with contextlib.suppress(OSError):
        _, writer = await asyncio.open_connection(HOST, server.port)
        try:
            writer.write(f"GET /healthz HTTP/1.1\r\nHost: {HOST}\r\n".encode())
            n = 0
            while not stop.is_set():
                await asyncio.sleep(0.5)
                writer.write(f"X-Slow-{n}: {n}\r\n".encode())
                await writer.drain()
                n += 1
        finally:
            writer.close()


async def _long_poll(
    session: aiohttp.ClientSession,
    server: Server,
    target: str,
    wait: int,
    go: asyncio.Event,
    stop: asyncio.Event,
    returned: list[float],
) -> None:
    url = f"{server.base}/api/orchestrators/{target}/commands?wait={wait}"
    await go.wait()
    while not stop.is_set():
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with session.get(url, headers=server.auth) as response:
                await response.read()
        returned.append(asyncio.get_running_loop().time())


async def _stream(session: aiohttp.ClientSession, server: Server, stop: asyncio.Event) -> None:
    with contextlib.suppress(aiohttp.ClientError, TimeoutError):
        async with session.get(f"{server.base}/api/events", headers=server.auth) as response:
            async for _chunk in response.content.iter_any():
                if stop.is_set():
                    return


def _expiries(returned: list[float]) -> list[float]:
    """The moments the long-polls came back together (the first return of each cluster)."""
    starts: list[float] = []
    for at in sorted(returned):
        if not starts or at - starts[-1] > 1.0:
            starts.append(at)
    return starts


async def run(args: argparse.Namespace, server: Server) -> bool:
    print(
        f"== open connections: relay serve pid={server.pid} {server.base}; {IDLE} idle "
        f"keep-alive, {SLOW} slow, {LONG_POLLS} long-polls (wait={args.long_poll_wait} s), "
        f"{STREAMS} streams",
        flush=True,
    )
    async with new_session(64) as session:
        headers = {**server.auth, "Content-Type": "application/json"}
        for i in range(LONG_POLLS):
            body = json_body({"id": f"o{i}", "baseDir": "/srv"})
            await send(session, ("POST", f"{server.base}/api/orchestrators", body), headers)
    print(HEADER, flush=True)
    bare = await _probe(server, "nothing open", args.rate, args.seconds)
    for probe in bare:
        print(probe.line(), flush=True)

    stop, go = asyncio.Event(), asyncio.Event()
    returned: list[float] = []
    waiting = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
    )
    async with waiting:
        idle = [await _idle(server) for _ in range(IDLE)]
        tasks = [asyncio.create_task(_slow(server, stop)) for _ in range(SLOW)]
        tasks += [asyncio.create_task(_stream(waiting, server, stop)) for _ in range(STREAMS)]
        tasks += [
            asyncio.create_task(
                _long_poll(waiting, server, f"o{i}", args.long_poll_wait, go, stop, returned)
            )
            for i in range(LONG_POLLS)
        ]
        await asyncio.sleep(1.0)  # everything connected
        go.set()
        await asyncio.sleep(0.5)  # the long-polls reach the server and wait
        profiler = Profiler.start(server.pid, args.profile) if args.profile else None
        crowd = await _probe(server, "crowd open", args.rate, args.seconds)
        if profiler is not None:
            profiler.stop()
        stop.set()
        for writer in idle:
            writer.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for probe in crowd:
        print(probe.line(), flush=True)

    kept = crowd[0]
    expiries = _expiries(returned)
    print(f"long-polls came back together at {len(expiries)} moments", flush=True)
    for at in expiries:
        window = (at - 1.0, at + 1.0)
        print(
            f"  +-1 s around an expiry: kept-alive p99 {kept.pct(99, window):.1f} ms, "
            f"max {kept.pct(100, window):.1f} ms; fresh max {crowd[1].pct(100, window):.1f} ms",
            flush=True,
        )
    stall = max(kept.pct(100), kept.longest_gap_ms())
    p99_ok = kept.pct(99) < P99_TARGET_MS
    stall_ok = stall < STALL_TARGET_MS
    print()
    print("== summary")
    print(
        f"/healthz kept-alive p99: {bare[0].pct(99):.1f} ms with nothing open, "
        f"{kept.pct(99):.1f} ms with the crowd (target < {P99_TARGET_MS:.0f} ms: "
        f"{verdict(p99_ok)})"
    )
    print(
        f"/healthz fresh connection p99: {bare[1].pct(99):.1f} ms with nothing open, "
        f"{crowd[1].pct(99):.1f} ms with the crowd"
    )
    print(
        f"longest stall with the crowd: {stall:.0f} ms (max latency {kept.pct(100):.0f} ms, "
        f"largest gap between replies {kept.longest_gap_ms():.0f} ms; target < "
        f"{STALL_TARGET_MS:.0f} ms: {verdict(stall_ok)})"
    )
    problems = server.log_problems()
    print(f"server log: {problems} ERROR/Traceback lines")
    if args.profile:
        print(f"py-spy profile of the crowd phase: {args.profile}")
    return p99_ok and stall_ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="each probe's duration")
    parser.add_argument("--rate", type=float, default=100.0, help="kept-alive /healthz per s")
    parser.add_argument(
        "--long-poll-wait", type=int, default=5, help="the long-polls' ?wait= (seconds)"
    )
    parser.add_argument("--profile", help="py-spy record the crowd phase into this file")
    args = parser.parse_args()
    with relay_server() as server:
        asyncio.run(run(args, server))


if __name__ == "__main__":
    main()
