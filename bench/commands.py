"""Command channel (issue 5): delivery latency over long-poll and WebSocket, then a kill -9.

    .venv/bin/python -m bench.commands [-n 10000] [--rate 100] [--saturation-commands 3000]
        [--concurrency 32] [--crash-commands 1000]

1. Registers 100 orchestrators with the root token and connects each with its own runtime
   token: 50 long-poll (``GET …/commands?wait=25`` in a loop) and 50 WebSocket
   (``WS …/channel``); each heartbeats every 10 s like a host daemon. Every command
   (``POST /api/commands``, round-robin across them)
   carries ``params.t0``; every consumer records receipt latency (now - t0) per command id
   and settles the command at once (long-poll: ``PATCH /api/commands/:id``; WebSocket: a
   ``status`` message). Two runs:

   - steady load (the targets): N commands at ``--rate`` per second on a fixed schedule
     whatever the replies, ``t0`` being the scheduled time (a late send counts);
   - saturation: ``--saturation-commands`` from ``--concurrency`` closed-loop senders,
     ``t0`` right before each POST: the most commands/s the relay settles, and the
     latency once commands queue up behind each other (reported, not judged: a closed
     loop at saturation measures its own queue).

   Counts received, unique, lost (enqueued, never received within the drain wait) and
   duplicated-after-ack (received again after the relay accepted its settle). The server
   runs with a short ack timeout (``--ack-timeout``) and the consumers stay connected that
   long after the last drain, so a settle that did not stick would show up as a
   redelivery. Then a bare ``GET /healthz`` closed loop at the same concurrency.
   Targets at steady load: p99 < 50 ms, zero lost, zero duplicated-after-ack.
2. Crash recovery: a server on a data dir kept across two starts; registers one
   orchestrator, enqueues ``--crash-commands`` commands (a 201 means durable), SIGKILLs
   the server, restarts it on the same data dir and port and long-polls the channel until
   it hands out nothing more. Target: every command delivered.

Nothing leaves 127.0.0.1; every wait is bounded; the servers are stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import (
    HEADER,
    CpuMeter,
    CpuUse,
    Phase,
    Request,
    Server,
    _stop,
    banner,
    client_saturated,
    closed_loop,
    free_port,
    json_body,
    kill9,
    new_session,
    noise_warning,
    percentile,
    print_phase,
    relay_server,
    run_closed_loop,
    run_open_loop,
    start_server,
    verdict,
)

ORCHESTRATORS = 100
LONG_POLL = 50  # the first 50 long-poll, the other 50 use the WebSocket
CONCURRENCY = 32
STEADY_RATE = 100.0  # commands/s: 100 orchestrators each sent one a second
WINDOW_S = 10.0
HEARTBEAT_S = 10.0  # the relay's default heartbeatIntervalSeconds
P99_TARGET_MS = 50.0
DRAIN_TIMEOUT_S = 60.0
WARM_UP_COMMANDS = 500
POLL_WAIT_S = 25
CRASH_POLL_WAIT_S = 2
CRASH_POLL_LIMIT = 500
RECOVERY_TIMEOUT_S = 120.0
COMMAND_TYPE = "bench.noop"


def _orchestrator_id(n: int) -> str:
    return f"bench-orch-{n}"


# -- bookkeeping ----------------------------------------------------------------------------


@dataclass
class Tally:
    """What the enqueuer sent and what the consumers got, per command id."""

    enqueued: dict[str, float] = field(default_factory=dict)  # id -> t0
    received: dict[str, int] = field(default_factory=dict)  # id -> times received
    latency_ms: dict[str, float] = field(default_factory=dict)  # first receipt only
    by_channel: dict[str, list[float]] = field(default_factory=dict)  # the same, per channel
    # Server timestamps of the first receipt: t0 -> createdAt -> deliveredAt -> receipt.
    intake_ms: list[float] = field(default_factory=list)
    queued_ms: list[float] = field(default_factory=list)
    handoff_ms: list[float] = field(default_factory=list)
    settled: set[str] = field(default_factory=set)  # the relay accepted our settle
    dup_after_ack: int = 0
    redelivered_before_ack: int = 0
    foreign: int = 0  # received, but not a command of this tally's phase
    settle_errors: dict[str, int] = field(default_factory=dict)
    channel_errors: dict[str, int] = field(default_factory=dict)
    last_settle: float = 0.0  # perf_counter of the latest accepted settle
    unsettled: set[str] = field(default_factory=set)  # enqueued, settle not yet accepted
    closed: bool = False  # the enqueuer is done
    done: asyncio.Event = field(default_factory=asyncio.Event)  # closed and all settled

    def receive(self, command: dict[str, Any], now: float, via: str) -> str:
        command_id = str(command["id"])
        params = command.get("params") or {}
        t0 = params.get("t0")
        if not isinstance(t0, int | float):
            self.foreign += 1
            return command_id
        seen = self.received.get(command_id, 0)
        self.received[command_id] = seen + 1
        if command_id in self.settled:
            self.dup_after_ack += 1
        elif seen:
            self.redelivered_before_ack += 1
        else:
            self.latency_ms[command_id] = latency = (now - t0) * 1000
            self.by_channel.setdefault(via, []).append(latency)
            created, delivered = command.get("createdAt"), command.get("deliveredAt")
            if isinstance(created, int) and isinstance(delivered, int):
                self.intake_ms.append(created - t0 * 1000)
                self.queued_ms.append(float(delivered - created))
                self.handoff_ms.append(now * 1000 - delivered)
        return command_id

    def enqueued_ok(self, command_id: str, t0: float) -> None:
        self.enqueued[command_id] = t0
        if command_id not in self.settled:  # a consumer can beat the POST's reply
            self.unsettled.add(command_id)

    def close(self) -> None:
        self.closed = True
        self._check_done()

    def settled_ok(self, command_id: str) -> None:
        self.settled.add(command_id)
        self.unsettled.discard(command_id)
        self.last_settle = time.perf_counter()
        self._check_done()

    def _check_done(self) -> None:
        if self.closed and not self.unsettled:
            self.done.set()

    def error(self, bucket: dict[str, int], label: str) -> None:
        bucket[label] = bucket.get(label, 0) + 1

    def all_settled(self) -> bool:
        return self.closed and not self.unsettled


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _label(exc: BaseException) -> str:
    return type(exc).__name__


# -- consumers ------------------------------------------------------------------------------


@dataclass
class Consumers:
    """The 100 channel clients; ``tally`` is swapped between the warm-up and the run."""

    tally: Tally
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    settles: set[asyncio.Task[None]] = field(default_factory=set)


async def _settle_http(
    session: aiohttp.ClientSession, base: str, token: str, command_id: str, tally: Tally
) -> None:
    body = json_body({"status": "succeeded"})
    headers = {**_bearer(token), "Content-Type": "application/json"}
    try:
        async with session.patch(
            f"{base}/api/commands/{command_id}", data=body, headers=headers
        ) as response:
            await response.read()
            if response.status == 200:
                tally.settled_ok(command_id)
            else:
                tally.error(tally.settle_errors, f"PATCH HTTP {response.status}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        tally.error(tally.settle_errors, f"PATCH {_label(exc)}")


async def _long_poll(
    session: aiohttp.ClientSession,
    base: str,
    orchestrator_id: str,
    token: str,
    consumers: Consumers,
    ready: asyncio.Event,
) -> None:
    url = f"{base}/api/orchestrators/{orchestrator_id}/commands"
    headers = _bearer(token)
    wait = 0  # the first poll returns at once: it proves the token and the route
    loop = asyncio.get_running_loop()
    while True:
        try:
            async with session.get(url, params={"wait": str(wait)}, headers=headers) as response:
                payload = await response.read()
                now = time.time()
                # Read at the reply, not before: a poll can span the warm-up and the run.
                tally = consumers.tally
                if response.status != 200:
                    tally.error(tally.channel_errors, f"poll HTTP {response.status}")
                    await asyncio.sleep(0.2)
                    continue
        except (aiohttp.ClientError, TimeoutError) as exc:
            consumers.tally.error(consumers.tally.channel_errors, f"poll {_label(exc)}")
            await asyncio.sleep(0.2)
            continue
        for command in json.loads(payload):
            command_id = tally.receive(command, now, "long-poll")
            # Settle at once, without holding up the next poll (a daemon runs commands
            # concurrently too).
            task = loop.create_task(_settle_http(session, base, token, command_id, tally))
            consumers.settles.add(task)
            task.add_done_callback(consumers.settles.discard)
        ready.set()
        wait = POLL_WAIT_S


async def _websocket(
    session: aiohttp.ClientSession,
    base: str,
    orchestrator_id: str,
    token: str,
    consumers: Consumers,
    ready: asyncio.Event,
) -> None:
    url = f"{base}/api/orchestrators/{orchestrator_id}/channel"
    while True:
        try:
            async with session.ws_connect(url, headers=_bearer(token), autoping=True) as ws:
                ready.set()
                async for message in ws:
                    if message.type != aiohttp.WSMsgType.TEXT:
                        break
                    now = time.time()
                    data = json.loads(message.data)
                    tally = consumers.tally
                    kind = data.get("type")
                    if kind == "command":
                        command_id = tally.receive(data["command"], now, "websocket")
                        status = {"type": "status", "commandId": command_id, "status": "succeeded"}
                        await ws.send_str(json.dumps(status))
                    elif kind == "status-ok":
                        tally.settled_ok(str(data["commandId"]))
                    else:
                        tally.error(tally.settle_errors, f"ws {data.get('error', kind)}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            consumers.tally.error(consumers.tally.channel_errors, f"ws {_label(exc)}")
        consumers.tally.error(consumers.tally.channel_errors, "ws closed, reconnecting")
        await asyncio.sleep(0.2)


async def _heartbeat(
    session: aiohttp.ClientSession,
    base: str,
    orchestrator_id: str,
    token: str,
    consumers: Consumers,
    phase: float,
) -> None:
    """Beat like a host daemon (every ``HEARTBEAT_S``), so the orchestrator stays online."""
    url = f"{base}/api/orchestrators/{orchestrator_id}/heartbeat"
    headers = {**_bearer(token), "Content-Type": "application/json"}
    await asyncio.sleep(phase)
    while True:
        try:
            async with session.post(url, data=b"{}", headers=headers) as response:
                await response.read()
                if response.status != 200:
                    consumers.tally.error(
                        consumers.tally.channel_errors, f"heartbeat HTTP {response.status}"
                    )
        except (aiohttp.ClientError, TimeoutError) as exc:
            consumers.tally.error(consumers.tally.channel_errors, f"heartbeat {_label(exc)}")
        await asyncio.sleep(HEARTBEAT_S)


async def _start_consumers(
    session: aiohttp.ClientSession, base: str, tokens: dict[str, str], consumers: Consumers
) -> None:
    loop = asyncio.get_running_loop()
    readies: list[asyncio.Event] = []
    for n, (orchestrator_id, token) in enumerate(tokens.items()):
        ready = asyncio.Event()
        readies.append(ready)
        consume = _long_poll if n < LONG_POLL else _websocket
        consumers.tasks.append(
            loop.create_task(consume(session, base, orchestrator_id, token, consumers, ready))
        )
        # Spread over the period, as independent hosts would be.
        phase = HEARTBEAT_S * n / len(tokens)
        consumers.tasks.append(
            loop.create_task(_heartbeat(session, base, orchestrator_id, token, consumers, phase))
        )
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=30)


async def _stop_consumers(consumers: Consumers) -> None:
    tasks = consumers.tasks + list(consumers.settles)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    consumers.tasks.clear()


# -- enqueue --------------------------------------------------------------------------------


async def _enqueue(
    session: aiohttp.ClientSession,
    server: Server,
    targets: list[str],
    count: int,
    concurrency: int,
    tally: Tally,
    name: str,
) -> Phase:
    """``count`` commands round-robin over ``targets`` from ``concurrency`` workers."""
    url = f"{server.base}/api/commands"
    headers = {**server.auth, "Content-Type": "application/json"}

    async def attempt(index: int) -> str | None:
        target = targets[index % len(targets)]
        return await _post_command(session, url, headers, target, index, time.time(), tally)

    return await run_closed_loop(name, attempt, count, concurrency, server.pid)


async def _enqueue_open(
    session: aiohttp.ClientSession,
    server: Server,
    targets: list[str],
    count: int,
    rate: float,
    tally: Tally,
    name: str,
) -> Phase:
    """``count`` commands at ``rate``/s on a fixed schedule, whatever the replies.

    ``t0`` is the scheduled send time, so a late send counts against the latency.
    """
    url = f"{server.base}/api/commands"
    headers = {**server.auth, "Content-Type": "application/json"}

    async def attempt(index: int, t0: float) -> str | None:
        target = targets[index % len(targets)]
        return await _post_command(session, url, headers, target, index, t0, tally)

    phase, _lag = await run_open_loop(name, attempt, rate, count, server.pid)
    return phase


async def _post_command(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    target: str,
    index: int,
    t0: float,
    tally: Tally,
) -> str | None:
    """POST one command carrying ``t0``; None on a 201 (recorded as enqueued), else why not."""
    body = json_body({"type": COMMAND_TYPE, "target": target, "params": {"t0": t0, "seq": index}})
    try:
        async with session.post(url, data=body, headers=headers) as response:
            payload = await response.read()
            if response.status != 201:
                return f"HTTP {response.status}"
            tally.enqueued_ok(json.loads(payload)["command"]["id"], t0)
            return None
    except (aiohttp.ClientError, TimeoutError) as exc:
        return _label(exc)


async def _drain(tally: Tally, timeout: float) -> None:
    tally.close()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(tally.done.wait(), timeout)


async def _register(
    session: aiohttp.ClientSession, server: Server, count: int
) -> tuple[Phase, dict[str, str]]:
    tokens: dict[str, str] = {}
    phase = Phase(f"register {count} orchestrators")
    headers = {**server.auth, "Content-Type": "application/json"}
    started = time.perf_counter()
    meter = CpuMeter(server.pid)
    for n in range(count):
        orchestrator_id = _orchestrator_id(n)
        body = json_body({"id": orchestrator_id, "baseDir": f"/srv/bench/{orchestrator_id}"})
        t = time.perf_counter()
        async with session.post(
            f"{server.base}/api/orchestrators", data=body, headers=headers
        ) as response:
            payload = await response.read()
            if response.status not in (200, 201):
                raise RuntimeError(
                    f"register {orchestrator_id}: HTTP {response.status} {payload!r}"
                )
            tokens[orchestrator_id] = json.loads(payload)["token"]
        phase.record((time.perf_counter() - t) * 1000, None)
    phase.wall_s = time.perf_counter() - started
    phase.cpu = meter.stop()
    phase.sent = count
    return phase, tokens


# -- part 1: latency ------------------------------------------------------------------------


@dataclass
class ChannelRun:
    tally: Tally
    enqueue: Phase
    wall_s: float  # enqueue start -> last accepted settle (or the drain deadline)
    cpu: CpuUse
    drained: bool

    @property
    def settled_rate(self) -> float:
        return len(self.tally.settled & self.tally.enqueued.keys()) / self.wall_s


async def _channel_run(
    session: aiohttp.ClientSession,
    server: Server,
    consumers: Consumers,
    targets: list[str],
    count: int,
    concurrency: int,
    name: str,
    rate: float | None = None,
) -> ChannelRun:
    """Enqueue ``count`` commands (closed loop at ``concurrency``, or open loop at ``rate``)
    and wait until the consumers have settled them all."""
    tally = Tally()
    consumers.tally = tally
    meter = CpuMeter(server.pid)
    started = time.perf_counter()
    if rate is None:
        enqueue = await _enqueue(session, server, targets, count, concurrency, tally, name)
    else:
        enqueue = await _enqueue_open(session, server, targets, count, rate, tally, name)
    await _drain(tally, DRAIN_TIMEOUT_S)
    drained = tally.all_settled()
    end = tally.last_settle if drained else time.perf_counter()
    cpu = meter.stop()
    return ChannelRun(tally, enqueue, max(end - started, 1e-9), cpu, drained)


def _ms(values: list[float], pct: float) -> float:
    return percentile(values, pct)


def _cpu_text(cpu: CpuUse) -> str:
    return (
        f"server {cpu.server:.0f}%, client {cpu.client:.0f}%, other {cpu.other:.0f}% "
        f"(of one core; 2 cores = 200%); client saturated: {client_saturated(cpu)}"
    )


async def channel_benchmark(args: argparse.Namespace, server: Server) -> list[Phase]:
    banner(
        "command channel benchmark",
        server,
        f" ack-timeout={args.ack_timeout:g}s log-level={args.log_level or 'default'}",
    )
    n, c, rate = args.commands, args.concurrency, args.rate
    session = new_session(limit=max(c, 64))
    # Consumers: 50 long-polls held open + their settles + 50 WebSockets.
    consumer_session = new_session(limit=LONG_POLL + 2 * c + ORCHESTRATORS)
    consumers = Consumers(Tally())
    async with session, consumer_session:
        print(HEADER, flush=True)
        registered, tokens = await _register(session, server, ORCHESTRATORS)
        print_phase(registered)
        await _start_consumers(consumer_session, server.base, tokens, consumers)
        print(
            f"connected: {LONG_POLL} long-poll (wait={POLL_WAIT_S}) + "
            f"{ORCHESTRATORS - LONG_POLL} WebSocket consumers",
            flush=True,
        )
        targets = list(tokens)
        warm = await _channel_run(
            session, server, consumers, targets, WARM_UP_COMMANDS, c, "warm-up (not counted)"
        )
        print_phase(warm.enqueue)
        steady = await _channel_run(
            session,
            server,
            consumers,
            targets,
            n,
            c,
            f"open {rate:g}/s POST /api/commands",
            rate=rate,
        )
        print_phase(steady.enqueue)
        saturated = await _channel_run(
            session,
            server,
            consumers,
            targets,
            args.saturation_commands,
            c,
            f"closed c={c} POST /api/commands",
        )
        print_phase(saturated.enqueue)
        # Stay connected past the ack timeout: a settle that did not stick is redelivered.
        watch_s = args.ack_timeout + 1
        await asyncio.sleep(watch_s)
        await _stop_consumers(consumers)

        def healthz(_i: int) -> Request:
            return ("GET", f"{server.base}/healthz", None)

        await closed_loop(session, "warm-up", healthz, 1_000, c, {}, server.pid)
        bare = await closed_loop(
            session, f"closed c={c} GET /healthz", healthz, n, c, {}, server.pid
        )
        print_phase(bare)

    print()
    print(
        f"== summary: command channel, {ORCHESTRATORS} orchestrators ({LONG_POLL} long-poll, "
        f"{ORCHESTRATORS - LONG_POLL} WebSocket); duplicates watched {watch_s:g} s past the "
        f"last drain with ack timeout {args.ack_timeout:g} s"
    )
    print(f"-- steady load: {n} commands at {rate:g}/s, on schedule (the targets)")
    _report(steady, n, judged=True)
    print(f"-- saturation: {args.saturation_commands} commands, closed loop at c={c}")
    _report(saturated, args.saturation_commands, judged=False)
    print(
        f"commands/s at saturation: {saturated.settled_rate:.0f} settled per second of "
        f"enqueue+drain ({saturated.wall_s:.2f} s); bare GET /healthz {bare.rate:.0f} req/s "
        f"at c={c} (same run)"
    )
    print(f"CPU at steady load: {_cpu_text(steady.cpu)}")
    print(f"CPU at saturation: {_cpu_text(saturated.cpu)}")
    assert bare.cpu is not None
    print(f"CPU during /healthz: {_cpu_text(bare.cpu)}")
    print(f"server log: {server.log_problems()} ERROR/Traceback lines", flush=True)
    phase = Phase("saturation enqueue+drain")
    phase.cpu = saturated.cpu
    return [steady.enqueue, saturated.enqueue, phase, bare]


def _report(run: ChannelRun, requested: int, *, judged: bool) -> None:
    """Counts and latencies of one run; ``judged`` adds the verdicts against the targets."""
    tally = run.tally
    latencies = sorted(tally.latency_ms.values())
    enqueued = len(tally.enqueued)
    lost = enqueued - sum(1 for cid in tally.enqueued if cid in tally.received)
    settled = len(tally.settled & tally.enqueued.keys())
    p99 = percentile(latencies, 99)

    def target(ok: bool, text: str) -> str:
        return f" (target {text}: {verdict(ok)})" if judged else ""

    print(
        f"enqueued {enqueued} of {requested} (POST failures {run.enqueue.failed}"
        f"{' ' + str(run.enqueue.errors) if run.enqueue.errors else ''}); received "
        f"{sum(tally.received.values())} deliveries, {len(tally.received)} unique; lost {lost}"
        f"{target(lost == 0, '0')}; duplicated-after-ack {tally.dup_after_ack}"
        f"{target(tally.dup_after_ack == 0, '0')}; redelivered before ack "
        f"{tally.redelivered_before_ack}; foreign {tally.foreign}"
    )
    print(
        f"settled {settled} (settle errors {sum(tally.settle_errors.values())}"
        f"{' ' + str(tally.settle_errors) if tally.settle_errors else ''}); channel errors "
        f"{sum(tally.channel_errors.values())}"
        f"{' ' + str(tally.channel_errors) if tally.channel_errors else ''}; "
        f"drained: {'yes' if run.drained else f'NO (gave up after {DRAIN_TIMEOUT_S:.0f} s)'}; "
        f"{run.settled_rate:.0f} commands/s settled"
    )
    print(
        f"enqueue -> receipt: p50 {percentile(latencies, 50):.1f} ms, p99 {p99:.1f} ms, "
        f"max {percentile(latencies, 100):.1f} ms"
        f"{target(p99 < P99_TARGET_MS, f'p99 < {P99_TARGET_MS:.0f} ms')}"
    )
    for label, values in (
        ("t0 -> createdAt (intake)", tally.intake_ms),
        ("createdAt -> deliveredAt (queue)", tally.queued_ms),
        ("deliveredAt -> receipt (hand-off)", tally.handoff_ms),
    ):
        values.sort()
        print(
            f"  {label:<34} p50 {_ms(values, 50):7.1f} ms  p99 {_ms(values, 99):7.1f} ms  "
            f"max {_ms(values, 100):7.1f} ms"
        )
    for via, values in sorted(tally.by_channel.items()):
        values.sort()
        print(
            f"  {'via ' + via:<34} p50 {_ms(values, 50):7.1f} ms  p99 {_ms(values, 99):7.1f} ms  "
            f"max {_ms(values, 100):7.1f} ms  ({len(values)} commands)"
        )
    if judged and latencies:
        # Latency by the second its command was sent: a stall shows as one bad window.
        start = min(tally.enqueued.values())
        windows: dict[int, list[float]] = {}
        for command_id, latency in tally.latency_ms.items():
            window = int((tally.enqueued.get(command_id, start) - start) // WINDOW_S)
            windows.setdefault(window, []).append(latency)
        text = "  ".join(
            f"{w * WINDOW_S:g}s:{_ms(sorted(v), 99):.0f}" for w, v in sorted(windows.items())
        )
        print(f"  p99 ms per {WINDOW_S:g} s window of sending: {text}")


# -- part 2: kill -9 ------------------------------------------------------------------------


async def _poll_until_empty(
    session: aiohttp.ClientSession, server: Server, orchestrator_id: str, token: str
) -> tuple[dict[str, int], int, float]:
    """Long-poll until a poll hands out nothing. Returns (id -> times, polls, last receipt)."""
    url = f"{server.base}/api/orchestrators/{orchestrator_id}/commands"
    query = {"wait": str(CRASH_POLL_WAIT_S), "limit": str(CRASH_POLL_LIMIT)}
    got: dict[str, int] = {}
    polls = 0
    last = time.perf_counter()
    deadline = time.perf_counter() + RECOVERY_TIMEOUT_S
    while time.perf_counter() < deadline:
        polls += 1
        async with session.get(url, params=query, headers=_bearer(token)) as response:
            payload = await response.read()
            if response.status != 200:
                raise RuntimeError(f"poll: HTTP {response.status} {payload!r}")
        batch = json.loads(payload)
        if not batch:
            break
        last = time.perf_counter()
        for command in batch:
            got[command["id"]] = got.get(command["id"], 0) + 1
    return got, polls, last


async def _crash_enqueue(server: Server, count: int, concurrency: int) -> tuple[str, Tally]:
    session = new_session(limit=max(concurrency, 8))
    async with session:
        registered, tokens = await _register(session, server, 1)
        print_phase(registered)
        orchestrator_id, token = next(iter(tokens.items()))
        tally = Tally()
        phase = await _enqueue(
            session,
            server,
            [orchestrator_id],
            count,
            concurrency,
            tally,
            f"closed c={concurrency} POST /api/commands",
        )
        print_phase(phase)
    return token, tally


async def _crash_recover(
    server: Server, orchestrator_id: str, token: str
) -> tuple[dict[str, int], int, float]:
    session = new_session(limit=8)
    async with session:
        return await _poll_until_empty(session, server, orchestrator_id, token)


def crash_benchmark(args: argparse.Namespace) -> None:
    count, c = args.crash_commands, args.concurrency
    with tempfile.TemporaryDirectory(prefix="relay-bench-crash-") as tmp:
        data_dir = Path(tmp) / "data"
        log_path = Path(tmp) / "server.log"
        port = free_port()
        root = secrets.token_urlsafe(24)
        server = start_server(data_dir, port, root, log_path)
        print()
        banner("crash recovery (kill -9)", server)
        print(HEADER, flush=True)
        try:
            token, tally = asyncio.run(_crash_enqueue(server, count, c))
        finally:
            kill9(server)
        killed_at = time.perf_counter()
        durable = len(tally.enqueued)
        print(
            f"enqueued {durable} commands (201 each) of {count}; SIGKILL pid={server.pid} "
            f"(exit {server.proc.returncode})",
            flush=True,
        )
        restarted = time.perf_counter()
        server = start_server(data_dir, port, root, log_path)
        ready_s = time.perf_counter() - restarted
        try:
            got, polls, last = asyncio.run(_crash_recover(server, _orchestrator_id(0), token))
            done = time.perf_counter()
            problems = server.log_problems()
        finally:
            _stop(server.proc)
    delivered = sum(1 for cid in tally.enqueued if cid in got)
    duplicates = sum(times - 1 for times in got.values())
    extra = sum(1 for cid in got if cid not in tally.enqueued)
    print()
    print("== summary: crash recovery")
    print(
        f"delivered after restart: {delivered} of {durable} acknowledged commands "
        f"(target all: {verdict(delivered == durable == count)}); duplicates {duplicates}; "
        f"unknown ids {extra}; {polls} polls (limit={CRASH_POLL_LIMIT}, "
        f"wait={CRASH_POLL_WAIT_S}s; the last one empty)"
    )
    print(
        f"recovery: restart -> ready {ready_s:.2f} s; restart -> last command delivered "
        f"{last - restarted:.2f} s; kill -> last command delivered {last - killed_at:.2f} s "
        f"(until the empty poll: {done - restarted:.2f} s)"
    )
    print(f"server log (both runs): {problems} ERROR/Traceback lines", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-n",
        "--commands",
        type=int,
        default=10_000,
        help="steady load: commands to enqueue (default 10000)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=STEADY_RATE,
        help=f"steady load: commands per second, on schedule (default {STEADY_RATE:g})",
    )
    parser.add_argument(
        "--saturation-commands",
        type=int,
        default=3_000,
        help="saturation: commands enqueued in a closed loop at --concurrency (default 3000)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=CONCURRENCY,
        help="saturation enqueue and /healthz concurrency",
    )
    parser.add_argument(
        "--crash-commands", type=int, default=1_000, help="commands queued before the kill -9"
    )
    parser.add_argument(
        "--ack-timeout",
        type=float,
        default=10.0,
        help="server's RELAY_COMMAND_ACK_TIMEOUT_SECONDS; the consumers stay connected this "
        "long (+1 s) after the drain to catch redeliveries of settled commands (default 10)",
    )
    parser.add_argument("--skip-crash", action="store_true", help="only the latency part")
    parser.add_argument("--log-level", help="server log level (default: the server's, INFO)")
    args = parser.parse_args()
    env = {"RELAY_COMMAND_ACK_TIMEOUT_SECONDS": str(args.ack_timeout)}
    with relay_server(env, log_level=args.log_level) as server:
        phases = asyncio.run(channel_benchmark(args, server))
    if warning := noise_warning(phases):
        print(warning, flush=True)
    if not args.skip_crash:
        crash_benchmark(args)


if __name__ == "__main__":
    main()
