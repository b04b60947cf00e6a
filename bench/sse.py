"""Event-stream fan-out (issue 9): many SSE clients on a real server while activity is posted.

    .venv/bin/python -m bench.sse [--clients 500] [--events 5000] [--rate 250] [--profile F]

1. ``GET /healthz`` closed loop (c=32) on a fresh server: the baseline req/s.
2. Connects ``--clients`` SSE clients to ``/api/events`` (aiohttp, this process) and
   waits until every one is subscribed; ``/healthz`` again with all of them connected.
3. Posts ``--events`` activity events on a fixed schedule (``--rate``/s, open loop), each
   carrying its send time; every client timestamps every frame it receives. Delivery
   latency = receipt - send time, over every (event, client) pair.
   With ``--probe``, a light open-loop probe (``GET /healthz``, 20/s, from a second
   process) measures the API's latency meanwhile (off by default: on 2 cores its process
   raises the delivery figures, measured 171 -> 234 ms p99).
4. Checks that every client saw every posted id exactly once, in order (a client the
   server drops as slow reconnects with ``Last-Event-ID``, as a browser would: counted).
5. The ``/healthz`` closed loop of step 1 from a second process (this one is busy reading
   frames), with the clients connected and idle, then while streaming again at the same
   rate: req/s while streaming next to idle (issue 23: at least 0.8x). Kept apart from
   step 3, whose delivery figures it would otherwise load. Then, every client gone, the
   same closed loop while posting at ``--rate`` with nobody to fan out to: what the posts
   cost the API by themselves, the ceiling of this ratio.

Prints the relay's VmRSS (idle, with the clients connected, peak while streaming) and
the CPU use of server and generator. The server is a separate ``relay serve`` process,
killed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import itertools
import json
import math
import multiprocessing
import os
import time
from dataclasses import dataclass, field

import aiohttp

from bench.common import (
    HEADER,
    CpuMeter,
    Phase,
    Server,
    banner,
    client_saturated,
    closed_loop,
    new_session,
    percentile,
    print_phase,
    relay_server,
    send,
    threads_and_rss_mb,
)
from bench.profiling import Profiler

HEALTHZ_REQUESTS = 5_000
HEALTHZ_CONCURRENCY = 32
PROBE_RATE = 20.0
DELIVERY_TIMEOUT_S = 120.0


@dataclass
class Progress:
    """Set ``all_done`` once every client holds ``target`` ids."""

    clients: int
    target: int
    complete: int = 0
    all_done: asyncio.Event = field(default_factory=asyncio.Event)

    def saw(self, count: int) -> None:
        if count == self.target:
            self.complete += 1
            if self.complete == self.clients:
                self.all_done.set()


@dataclass
class Client:
    """One SSE reader: the ids it got, in order, and the latency of each frame."""

    index: int
    progress: Progress
    ids: list[int] = field(default_factory=list)  # activity ids, in the order received
    stream_ids: list[int] = field(default_factory=list)  # SSE ids, in the order received
    latencies_ms: list[float] = field(default_factory=list)
    reconnects: int = 0
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def last_id(self) -> int | None:
        return self.stream_ids[-1] if self.stream_ids else None

    def in_order(self) -> bool:
        """Strictly increasing ids: nothing twice, nothing out of order."""
        return all(a < b for ids in (self.stream_ids, self.ids) for a, b in itertools.pairwise(ids))


def _number_after(block: bytes, key: bytes) -> float | None:
    start = block.find(key)
    if start < 0:
        return None
    start += len(key)
    end = start
    while end < len(block) and block[end] in b"0123456789.eE+-":
        end += 1
    return float(block[start:end])


async def _read_stream(
    session: aiohttp.ClientSession, server: Server, client: Client, stop: asyncio.Event
) -> None:
    """Read frames until ``stop``; reconnect with Last-Event-ID if the server ends the stream."""
    while not stop.is_set():
        headers = dict(server.auth)
        if client.last_id is not None:
            headers["Last-Event-ID"] = str(client.last_id)
        async with session.get(f"{server.base}/api/events", headers=headers) as response:
            response.raise_for_status()
            pending = b""
            async for chunk in response.content.iter_any():
                received = time.time()
                pending += chunk
                *blocks, pending = pending.split(b"\n\n")
                for block in blocks:
                    if block.startswith(b"retry:"):
                        client.subscribed.set()
                    if not block.startswith(b"id: "):
                        continue
                    client.stream_ids.append(int(block[4 : block.index(b"\n")]))
                    activity_id = _number_after(block, b'data: {"id":')
                    if activity_id is not None:
                        client.ids.append(int(activity_id))
                        client.progress.saw(len(client.ids))
                    sent = _number_after(block, b'"sentAt":')
                    if sent is not None:
                        client.latencies_ms.append((received - sent) * 1000)
                if stop.is_set():
                    return
        if not stop.is_set():
            client.reconnects += 1


@dataclass
class Posting:
    ids: list[int] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)  # send -> 201
    failures: int = 0
    wall_s: float = 0.0


async def _post_events(
    session: aiohttp.ClientSession, server: Server, count: int, rate: float
) -> Posting:
    """Post ``count`` activity events on a schedule of ``rate``/s, whatever the replies
    (cancelled: stops posting, and the posts in flight)."""
    headers = {**server.auth, "Content-Type": "application/json"}
    loop = asyncio.get_running_loop()
    posting = Posting()

    async def post(index: int) -> None:
        sent = time.time()
        body = {"title": f"bench {index}", "view": "bench", "metadata": {"sentAt": sent}}
        try:
            async with session.post(
                f"{server.base}/api/activity", data=json.dumps(body), headers=headers
            ) as response:
                if response.status != 201:
                    posting.failures += 1
                    return
                posting.ids.append((await response.json())["id"])
                posting.latencies_ms.append((time.time() - sent) * 1000)
        except (aiohttp.ClientError, TimeoutError):
            posting.failures += 1

    tasks: set[asyncio.Task[None]] = set()
    start = loop.time()
    for index in range(count):
        delay = start + index / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = loop.create_task(post(index))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    try:
        if tasks:
            await asyncio.wait(tasks)
    finally:
        for task in tasks:
            task.cancel()
        # Settled before the session closes under them (a post cut off by the close raises
        # RuntimeError, not CancelledError, and nobody would retrieve it).
        await asyncio.gather(*tasks, return_exceptions=True)
    posting.wall_s = loop.time() - start
    return posting


async def _probe_load(base: str, seconds: float) -> list[float]:
    """``GET /healthz`` at ``PROBE_RATE``/s for ``seconds``: latency from the scheduled time."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []

    async def one(session: aiohttp.ClientSession, scheduled: float) -> None:
        if await send(session, ("GET", f"{base}/healthz", None), {}) is None:
            latencies.append((loop.time() - scheduled) * 1000)

    async with new_session(64) as session:
        start = loop.time()
        tasks = []
        for index in range(int(seconds * PROBE_RATE)):
            scheduled = start + index / PROBE_RATE
            await asyncio.sleep(max(scheduled - loop.time(), 0))
            tasks.append(loop.create_task(one(session, scheduled)))
        await asyncio.gather(*tasks)
    return sorted(latencies)


async def _healthz_phase(base: str, name: str, server_pid: int) -> Phase:
    """The ``/healthz`` closed loop of step 1 (``server_pid``: whose CPU the phase reports;
    the child, which does not know the server's, reports its own)."""
    async with new_session(HEALTHZ_CONCURRENCY) as session:
        return await closed_loop(
            session,
            name,
            lambda _i: ("GET", f"{base}/healthz", None),
            HEALTHZ_REQUESTS,
            HEALTHZ_CONCURRENCY,
            {},
            server_pid,
        )


def _probe_in_child(base: str, seconds: float) -> list[float]:
    return asyncio.run(_probe_load(base, seconds))


def _healthz_in_child(base: str) -> float:
    return asyncio.run(_healthz_phase(base, "healthz", os.getpid())).rate


def _child() -> concurrent.futures.ProcessPoolExecutor:
    """A second load generator: this process is busy reading every client's frames, and
    its own /healthz replies would wait behind them (measured: 0.06x, the client's limit)."""
    spawn = multiprocessing.get_context("spawn")
    return concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn)


async def _healthz_while_posting(
    server: Server, rate: float, child: concurrent.futures.ProcessPoolExecutor
) -> tuple[float, float]:
    """The ``/healthz`` closed loop from a second process, idle, then while events are
    posted at ``rate``/s (to every SSE client connected, if any): both req/s."""
    loop = asyncio.get_running_loop()
    idle = await loop.run_in_executor(child, _healthz_in_child, server.base)
    posting_timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=256), timeout=posting_timeout
    ) as posting:
        # Enough posts to outlast the closed loop; cancelled once it is done.
        poster = asyncio.create_task(_post_events(posting, server, int(rate * 120), rate))
        await asyncio.sleep(1.0)  # streaming under way before the first /healthz
        try:
            return idle, await loop.run_in_executor(child, _healthz_in_child, server.base)
        finally:
            poster.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poster


async def _healthz(server: Server, name: str) -> float:
    phase = await _healthz_phase(server.base, name, server.pid)
    print_phase(phase)
    return phase.rate


async def _sample_rss(pid: int, stop: asyncio.Event, peak: list[float]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], threads_and_rss_mb(pid)[1])
        await asyncio.sleep(0.2)


async def run(
    server: Server,
    clients_n: int,
    events: int,
    rate: float,
    profile: str | None = None,
    *,
    probe_api: bool = False,
) -> bool:
    banner("SSE fan-out", server, f"; {clients_n} clients, {events} events at {rate:g}/s")
    print(HEADER, flush=True)
    idle_healthz = await _healthz(server, "GET /healthz (no SSE clients)")
    _, rss_idle = threads_and_rss_mb(server.pid)
    # The second process is started (and has imported what it runs) before streaming:
    # a Python start-up in the first second of the stream was measured with it.
    child = _child()
    try:
        await asyncio.get_running_loop().run_in_executor(child, _probe_in_child, server.base, 0)
        baseline = (idle_healthz, rss_idle)
        ok = await _stream(server, clients_n, events, rate, profile, probe_api, child, baseline)
        # Last, every client gone: what posting alone costs the API, with nobody to fan out
        # to (the ceiling of step 5's ratio). Not before the clients connect: posts still in
        # flight when the loop ends commit later, and would reach some clients, not all.
        alone, posting_alone = await _healthz_while_posting(server, rate, child)
        print(
            f"/healthz closed loop c={HEALTHZ_CONCURRENCY} from a second process, no SSE "
            f"client: {alone:.0f} req/s idle, {posting_alone:.0f} req/s while posting "
            f"{rate:g}/s: {posting_alone / alone:.2f}x (the posts' own cost)",
            flush=True,
        )
        return ok
    finally:
        child.shutdown()


async def _stream(
    server: Server,
    clients_n: int,
    events: int,
    rate: float,
    profile: str | None,
    probe_api: bool,
    child: concurrent.futures.ProcessPoolExecutor,
    baseline: tuple[float, float],
) -> bool:
    """Steps 2 to 5, on a server measured idle (``baseline``: step 1's /healthz req/s and
    the RSS)."""
    idle_healthz, rss_idle = baseline

    progress = Progress(clients_n, events)
    clients = [Client(i, progress) for i in range(clients_n)]
    stop = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as sse:
        readers = [asyncio.create_task(_read_stream(sse, server, c, stop)) for c in clients]
        connect_started = time.perf_counter()
        await asyncio.wait_for(
            asyncio.gather(*(c.subscribed.wait() for c in clients)), DELIVERY_TIMEOUT_S
        )
        connect_s = time.perf_counter() - connect_started
        threads, rss_connected = threads_and_rss_mb(server.pid)
        connected_healthz = await _healthz(server, f"GET /healthz ({clients_n} SSE idle)")

        peak = [rss_connected]
        sampler = asyncio.create_task(_sample_rss(server.pid, stop, peak))
        meter = CpuMeter(server.pid)
        profiler = Profiler.start(server.pid, profile) if profile else None
        probe = asyncio.get_running_loop().run_in_executor(
            child, _probe_in_child, server.base, events / rate if probe_api else 0
        )
        streaming_started = time.perf_counter()
        # No client-side timeout on posts: a slow commit is measured, not counted as lost.
        posting_timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=256), timeout=posting_timeout
        ) as posting:
            posted = await _post_events(posting, server, events, rate)
        expected = sorted(posted.ids)
        with contextlib.suppress(TimeoutError):  # the report names who missed what
            await asyncio.wait_for(progress.all_done.wait(), DELIVERY_TIMEOUT_S)
        delivered_s = time.perf_counter() - streaming_started
        cpu = meter.stop()
        probe_ms = await probe
        if profiler is not None:
            profiler.stop()
        # Figures of step 3 only: step 5's posts reach the same clients.
        ok = _report(
            clients,
            expected,
            posted=posted,
            delivered_s=delivered_s,
            connect_s=connect_s,
            rss=(rss_idle, rss_connected, peak[0]),
            threads=threads,
            healthz=(idle_healthz, connected_healthz),
            cpu_line=(
                f"cpu% while streaming: server {cpu.server:.0f}, generator {cpu.client:.0f}, "
                f"other {cpu.other:.0f}; generator saturated: {client_saturated(cpu)}"
            ),
            server_cpu_s=cpu.server / 100 * delivered_s,
        )
        if probe_api:
            print(
                f"/healthz probe at {PROBE_RATE:g}/s while streaming ({len(probe_ms)} replies): "
                f"p50 {percentile(probe_ms, 50):.1f} ms, p99 {percentile(probe_ms, 99):.1f} ms, "
                f"max {percentile(probe_ms, 100):.1f} ms",
                flush=True,
            )
        quiet, streaming = await _healthz_while_posting(server, rate, child)
        print(
            f"/healthz closed loop c={HEALTHZ_CONCURRENCY} from a second process: {quiet:.0f} "
            f"req/s with the clients idle, {streaming:.0f} req/s while streaming {rate:g}/s: "
            f"{streaming / quiet:.2f}x (issue 23 target >= 0.80x)",
            flush=True,
        )
        stop.set()
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        sampler.cancel()
    return ok


def _report(
    clients: list[Client],
    expected: list[int],
    *,
    posted: Posting,
    delivered_s: float,
    connect_s: float,
    rss: tuple[float, float, float],
    threads: int,
    healthz: tuple[float, float],
    cpu_line: str,
    server_cpu_s: float,
) -> bool:
    # Every acknowledged post, on every client, exactly once and in order; and every client
    # got the same events (a post whose reply was lost may still have been stored).
    acknowledged = set(expected)
    reference = clients[0].ids if clients else []
    incomplete = [
        c.index
        for c in clients
        if not c.in_order() or not acknowledged <= set(c.ids) or c.ids != reference
    ]
    latencies = sorted(ms for c in clients for ms in c.latencies_ms)
    reconnects = sum(c.reconnects for c in clients)
    frames = sum(len(c.stream_ids) for c in clients)
    post_ms = sorted(posted.latencies_ms)
    print(
        f"posted: {len(expected)} ok, {posted.failures} failed, in {posted.wall_s:.1f} s; "
        f"POST latency p50 {percentile(post_ms, 50):.1f} ms, p99 {percentile(post_ms, 99):.1f} ms",
        flush=True,
    )
    print(
        f"clients: {len(clients)} subscribed in {connect_s:.1f} s; all events delivered "
        f"{delivered_s:.1f} s after the first post; {frames} frames received",
        flush=True,
    )
    print(
        f"missed: {len(incomplete)} clients did not get every id exactly once in order "
        f"(reconnects after a slow-client drop: {reconnects})",
        flush=True,
    )
    print(
        f"delivery latency (post -> receipt, {len(latencies)} samples): "
        f"p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
        f"max {percentile(latencies, 100):.1f} ms",
        flush=True,
    )
    print(
        f"relay VmRSS: {rss[0]:.1f} MB idle, {rss[1]:.1f} MB with the clients connected "
        f"({threads} threads), peak {rss[2]:.1f} MB while streaming",
        flush=True,
    )
    idle, connected = healthz
    print(
        f"/healthz: {idle:.0f} req/s without SSE clients, {connected:.0f} req/s with them "
        f"connected ({connected / idle:.2f}x)",
        flush=True,
    )
    print(cpu_line, flush=True)
    print(
        f"server CPU while streaming: {server_cpu_s:.1f} s, "
        f"{server_cpu_s / max(len(expected), 1) * 1000:.2f} ms per event "
        f"({server_cpu_s / max(frames, 1) * 1e6:.1f} us per frame received)",
        flush=True,
    )
    ok = not incomplete and posted.failures == 0 and not math.isnan(percentile(latencies, 50))
    print(f"every client saw all {len(expected)} events: {'YES' if ok else 'NO'}", flush=True)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--rate", type=float, default=250.0, help="events posted per second")
    parser.add_argument("--log-level", default=None, help="the server's log level")
    parser.add_argument(
        "--batch-window",
        type=float,
        default=None,
        help="the server's RELAY_SSE_BATCH_WINDOW_SECONDS (default: the relay's)",
    )
    parser.add_argument("--profile", help="py-spy record the streaming phase into this file")
    parser.add_argument(
        "--probe", action="store_true", help="a 20/s /healthz latency probe while streaming"
    )
    args = parser.parse_args()
    env = {}
    if args.batch_window is not None:
        env["RELAY_SSE_BATCH_WINDOW_SECONDS"] = str(args.batch_window)
    with relay_server(env, log_level=args.log_level) as server:
        ok = asyncio.run(
            run(
                server,
                args.clients,
                args.events,
                args.rate,
                args.profile,
                probe_api=args.probe,
            )
        )
        problems = server.log_problems()
        print(f"server log: {problems} ERROR/Traceback lines ({server.log_path})", flush=True)
    raise SystemExit(0 if ok and problems == 0 else 1)


if __name__ == "__main__":
    main()
