"""Shared bench code: a real ``relay serve`` on 127.0.0.1, an aiohttp load generator, figures.

The load generator is this process (asyncio + aiohttp); the server is a separate process
started here with a fresh data dir and a known root token, and killed at the end. Every
phase samples CPU time of the server, of this process and of the whole machine, so a run
shows whether the generator (or another process on the machine) was the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.profiling import Profiler, top

HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
REQUEST_TIMEOUT_S = 30.0

# -- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A ``relay serve`` child process on 127.0.0.1 with its own temporary data dir."""

    proc: subprocess.Popen[bytes]
    port: int
    token: str
    data_dir: Path
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def log_problems(self) -> int:
        """How many ERROR/Traceback lines the server logged."""
        text = self.log_path.read_text(errors="replace")
        return sum(1 for line in text.splitlines() if " ERROR " in line or "Traceback" in line)


@contextlib.contextmanager
def relay_server(
    extra_env: dict[str, str] | None = None, *, log_level: str | None = None
) -> Iterator[Server]:
    """Start ``relay serve`` (hypercorn, trio worker, SQLite), wait until ready, stop it after."""
    with tempfile.TemporaryDirectory(prefix="relay-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        log_path = Path(tmp) / "server.log"
        server = start_server(
            data_dir,
            free_port(),
            secrets.token_urlsafe(24),
            log_path,
            extra_env,
            log_level=log_level,
        )
        try:
            yield server
        finally:
            _stop(server.proc)


def _wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"relay serve exited early:\n{server.log_path.read_text()[-4000:]}")
        try:
            with socket.create_connection((HOST, server.port), timeout=1) as sock:
                sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"relay serve not ready after {timeout:.0f} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    profile_report(proc.pid)


# -- every server of a run under py-spy (BENCH_PROFILE=DIR) ---------------------------------

PROFILE_ENV = "BENCH_PROFILE"
_profilers: dict[int, Profiler] = {}


def profile_from_start(pid: int, label: str | None = None) -> None:
    """With ``BENCH_PROFILE=DIR`` set, py-spy records the process ``pid`` (a server this run
    starts, or the daemon beside it) from its start to its end, into
    ``DIR/<bench>[-<label>]-<pid>.txt``; ``profile_report`` prints its top entries.
    A whole run, set-up phases included: a bench's own ``--profile`` covers one phase."""
    out_dir = os.environ.get(PROFILE_ENV)
    if not out_dir or pid in _profilers:
        return
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    name = Path(sys.argv[0]).stem + (f"-{label}" if label else "")
    _profilers[pid] = Profiler.start(pid, Path(out_dir) / f"{name}-{pid}.txt")


def profile_report(*pids: int, what: str = "server") -> None:
    """Stop the recordings of ``pids`` and print their top entries, as one profile (the
    relays of a failover run, killed and started again, are one service)."""
    outs = []
    for pid in pids:
        profiler = _profilers.pop(pid, None)
        if profiler is None:
            continue
        profiler.stop()
        if profiler.out.exists():
            outs.append(profiler.out)
        else:
            print(f"py-spy wrote no profile of {what} pid {pid}", flush=True)
    if not outs:
        return
    named = ", ".join(str(out) for out in outs)
    print(f"== py-spy of {what} pid {', '.join(map(str, pids))} (whole run): {named}", flush=True)
    print(top(outs, 15, inclusive=False), flush=True)


# -- /proc ----------------------------------------------------------------------------------


def proc_status(pid: int) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def threads_and_rss_mb(pid: int) -> tuple[int, float]:
    status = proc_status(pid)
    return int(status["Threads"]), int(status["VmRSS"].split()[0]) / 1024


def _proc_cpu_s(pid: int) -> float:
    # utime and stime (fields 14 and 15) cover every thread of the process.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _machine_busy_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return (total - idle) / CLK_TCK, total / CLK_TCK


@dataclass(frozen=True)
class CpuUse:
    """Average CPU use over a phase, in % of one core (200 % = both cores of this machine)."""

    server: float
    client: float
    other: float


class CpuMeter:
    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self._start = self._sample()

    def _sample(self) -> tuple[float, float, float, float]:
        times = os.times()
        busy, _total = _machine_busy_s()
        return time.monotonic(), _proc_cpu_s(self.server_pid), times.user + times.system, busy

    def stop(self) -> CpuUse:
        wall0, server0, client0, busy0 = self._start
        wall1, server1, client1, busy1 = self._sample()
        wall = max(wall1 - wall0, 1e-9)
        server = (server1 - server0) / wall * 100
        client = (client1 - client0) / wall * 100
        other = max((busy1 - busy0) / wall * 100 - server - client, 0.0)
        return CpuUse(server, client, other)


# -- figures --------------------------------------------------------------------------------


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list (NaN when empty)."""
    if not sorted_values:
        return math.nan
    rank = max(math.ceil(pct / 100 * len(sorted_values)), 1)
    return sorted_values[rank - 1]


@dataclass
class Phase:
    name: str
    sent: int = 0
    ok: int = 0
    failed: int = 0
    wall_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    cpu: CpuUse | None = None
    errors: dict[str, int] = field(default_factory=dict)

    def record(self, latency_ms: float, error: str | None) -> None:
        self.latencies_ms.append(latency_ms)
        if error is None:
            self.ok += 1
        else:
            self.failed += 1
            self.errors[error] = self.errors.get(error, 0) + 1

    @property
    def rate(self) -> float:
        return self.ok / self.wall_s if self.wall_s > 0 else math.nan

    def pct(self, p: float) -> float:
        self.latencies_ms.sort()
        return percentile(self.latencies_ms, p)


HEADER = (
    f"{'phase':<30} {'sent':>7} {'failed':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
    f"{'max ms':>8} {'cpu% server':>11} {'client':>6} {'other':>6}"
)


def phase_line(phase: Phase) -> str:
    cpu = phase.cpu or CpuUse(math.nan, math.nan, math.nan)
    return (
        f"{phase.name:<30} {phase.sent:>7} {phase.failed:>6} {phase.rate:>8.0f} "
        f"{phase.pct(50):>8.1f} {phase.pct(99):>8.1f} {phase.pct(100):>8.1f} "
        f"{cpu.server:>11.0f} {cpu.client:>6.0f} {cpu.other:>6.0f}"
    )


def print_phase(phase: Phase) -> None:
    print(phase_line(phase), flush=True)
    if phase.errors:
        print(f"{'':<30} errors: {phase.errors}", flush=True)


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def client_saturated(cpu: CpuUse | None) -> str:
    """The generator is one asyncio thread: near 100 % of a core means it was the limit."""
    if cpu is None:
        return "unknown"
    return "YES (client-bound figures)" if cpu.client >= 90 else "no"


NOISY_OTHER_CPU = 25.0


def noise_warning(phases: list[Phase]) -> str | None:
    """A warning when other processes took a share of the two cores during a phase."""
    noisy = [p for p in phases if p.cpu is not None and p.cpu.other >= NOISY_OTHER_CPU]
    if not noisy:
        return None
    worst = max(p.cpu.other for p in noisy if p.cpu is not None)
    names = ", ".join(p.name for p in noisy)
    return (
        f"WARNING: other processes used up to {worst:.0f}% CPU during: {names}. "
        "The figures are not the server's own; rerun on a quiet machine."
    )


# -- load -----------------------------------------------------------------------------------

Request = tuple[str, str, bytes | None]  # method, url, JSON body


def new_session(limit: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=limit, force_close=False)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
        skip_auto_headers=("User-Agent",),
    )


async def send(
    session: aiohttp.ClientSession, request: Request, headers: dict[str, str]
) -> str | None:
    """One request; returns None on a 2xx, else a short error label."""
    method, url, body = request
    try:
        async with session.request(method, url, data=body, headers=headers) as response:
            await response.read()
            if 200 <= response.status < 300:
                return None
            return f"HTTP {response.status}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        return type(exc).__name__


# One request of a load: given its index (and, in an open loop, its scheduled send time as
# epoch seconds), send it; None on success, else a short error label.
Attempt = Callable[[int], Awaitable[str | None]]
ScheduledAttempt = Callable[[int, float], Awaitable[str | None]]


async def closed_loop(
    session: aiohttp.ClientSession,
    name: str,
    requests: Callable[[int], Request],
    count: int,
    concurrency: int,
    headers: dict[str, str],
    server_pid: int,
) -> Phase:
    """``count`` requests from ``concurrency`` workers, each sending its next one on a reply."""

    async def attempt(index: int) -> str | None:
        return await send(session, requests(index), headers)

    return await run_closed_loop(name, attempt, count, concurrency, server_pid)


async def run_closed_loop(
    name: str, attempt: Attempt, count: int, concurrency: int, server_pid: int
) -> Phase:
    """``closed_loop`` for any ``attempt``: latency counts from the start of each attempt."""
    phase = Phase(name)
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < count:
            index = next_index
            next_index += 1
            started = time.perf_counter()
            error = await attempt(index)
            phase.record((time.perf_counter() - started) * 1000, error)

    meter = CpuMeter(server_pid)
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    phase.wall_s = time.perf_counter() - started
    phase.cpu = meter.stop()
    phase.sent = count
    return phase


async def open_loop(
    session: aiohttp.ClientSession,
    name: str,
    requests: Callable[[int], Request],
    rate: float,
    duration_s: float,
    headers: dict[str, str],
    server_pid: int,
) -> tuple[Phase, float]:
    """Send at ``rate``/s on schedule whatever the replies; latency counts from the schedule.

    Returns the phase and the worst lag of an actual send behind its scheduled time (ms).
    """

    async def attempt(index: int, _scheduled: float) -> str | None:
        return await send(session, requests(index), headers)

    return await run_open_loop(name, attempt, rate, round(rate * duration_s), server_pid)


async def run_open_loop(
    name: str, attempt: ScheduledAttempt, rate: float, total: int, server_pid: int
) -> tuple[Phase, float]:
    """``open_loop`` for ``total`` attempts of any kind; each is told its scheduled send time
    (epoch seconds), so it can carry it (a late send then counts against its latency)."""
    phase = Phase(name)
    loop = asyncio.get_running_loop()
    in_flight: set[asyncio.Task[None]] = set()
    worst_lag = 0.0

    async def one(index: int, scheduled: float, scheduled_epoch: float) -> None:
        error = await attempt(index, scheduled_epoch)
        phase.record((loop.time() - scheduled) * 1000, error)

    meter = CpuMeter(server_pid)
    start = loop.time() + 0.05
    start_epoch = time.time() + 0.05
    for index in range(total):
        offset = index / rate
        scheduled = start + offset
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        worst_lag = max(worst_lag, (loop.time() - scheduled) * 1000)
        task = loop.create_task(one(index, scheduled, start_epoch + offset))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
        phase.sent += 1
    if in_flight:
        await asyncio.wait(in_flight, timeout=REQUEST_TIMEOUT_S + 5)
    phase.wall_s = loop.time() - start
    phase.cpu = meter.stop()
    # The rate of an open loop is the schedule's; ``rate`` reports replies over the whole span.
    return phase, worst_lag


def json_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def banner(title: str, server: Server, extra: str = "") -> None:
    print(f"== {title}", flush=True)
    print(
        f"server: relay serve pid={server.pid} {server.base} data-dir={server.data_dir} "
        f"(hypercorn trio worker, SQLite){extra}",
        flush=True,
    )
    print(
        f"client: aiohttp {aiohttp.__version__} in pid={os.getpid()} (one asyncio thread); "
        f"machine: {os.cpu_count()} cores",
        flush=True,
    )


# -- a server kept across restarts ----------------------------------------------------------


def start_server(
    data_dir: Path,
    port: int,
    token: str,
    log_path: Path,
    extra_env: dict[str, str] | None = None,
    *,
    database_url: str | None = None,
    log_level: str | None = None,
) -> Server:
    """``relay serve`` on ``data_dir`` and ``port`` (kept across restarts), once ready.

    For crash tests: the caller owns the data dir and stops (or kills) the server. A fresh
    server: none of the caller's RELAY_* settings leak in.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env["RELAY_ROOT_TOKEN"] = token
    env.update(extra_env or {})
    cmd = [sys.executable, "-m", "relay", "serve", "--host", HOST, "--port", str(port)]
    cmd += ["--data-dir", str(data_dir)]
    if database_url:
        cmd += ["--database-url", database_url]
    if log_level is not None:
        cmd += ["--log-level", log_level]
    with log_path.open("ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(proc, port, token, data_dir, log_path)
    profile_from_start(proc.pid)
    try:
        _wait_ready(server)
    except BaseException:
        _stop(proc)
        raise
    return server


def stop_server(server: Server) -> None:
    """SIGTERM (then SIGKILL after 20 s) and wait."""
    _stop(server.proc)


def kill9(server: Server) -> None:
    """SIGKILL: no shutdown hook runs, nothing is flushed."""
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(timeout=10)
    profile_report(server.pid)
