"""Messages and inboxes (issue 19): latency, saturation, kill -9 and idle inboxes.

    .venv/bin/python -m bench.messages [--agents 1000] [--rate 200] [--seconds 60]
        [--saturation-messages 3000] [--concurrency 32] [--crash-messages 10000]
        [--channels 50] [--channel-members 20] [--ack-mode fetch|route]
        [--profile FILE] [--profile-phase saturation|steady]

One server (``RELAY_ACTOR_IDLE_SECONDS=5``), then a second one for the crash:

1. Idle inboxes: ``--agents`` agents registered, each inbox fetched once (``wait=0``),
   then left alone past the idle sweep. Server threads and VmRSS before the fetches, at
   their peak and once idle (target: threads follow the active set, back to the count
   before the fetches).
2. Steady load: one consumer per agent long-polls its inbox (``wait=25``, ``lease=5``)
   and acks what it got: by default in its next fetch (``--ack-mode fetch``:
   ``GET …/inbox?ack=<leaseId>``, one request per batch), or with ``--ack-mode route``
   at once through ``POST …/inbox/ack`` (``deliveryIds``) beside the next poll. With
   ``fetch`` an ack is known to be stored only when the fetch carrying it returns, which
   a long-poll may hold for ``wait`` seconds: a run's rate then ends at the last receipt
   (the ack leaves right after it), and the drain waits on for the acks' replies.
   Direct messages (``to``; sent with the root token as ``from`` another agent,
   ``ackRequired``) at ``--rate`` per second on a fixed schedule for ``--seconds``; the
   body carries the scheduled time, so a late send counts. Send -> recipient receipt
   p50/p99 (target p99 < 50 ms), lost (201 but never received) and handed out twice
   after an accepted ack (target 0 each). The consumers stay on past the drain longer
   than a lease plus the lease-expiry job, so an ack that
   did not stick shows up as a redelivery.
3. Saturation: ``--saturation-messages`` from ``--concurrency`` closed-loop senders, the
   consumers as above: messages/s received and acked, next to a bare ``GET /healthz``
   closed loop at the same concurrency in the same run (target >= 0.3x).
4. kill -9: a fresh server on a kept data dir; ``--crash-messages`` direct messages over
   20 conversations (a 201 means durable), SIGKILL, restart on the same data dir, then
   fetch and ack every inbox until empty. Targets: every message delivered; each
   conversation's ``seq`` read back through ``GET /api/conversations/:id/messages`` is
   1..lastSeq with no gap and holds every acknowledged message.

2b. Channels: ``--channels`` channels (half exclusive, half broadcast), each bound to
   ``--channel-members`` agents; the same steady load, message ``i`` to channel ``i % n``
   as root; counted per delivery (a broadcast reaches every member). Agents are kept
   online for the run (``RELAY_AGENT_STALE_SECONDS=3600``): exclusive routing needs them.
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
    stop_server,
    threads_and_rss_mb,
    verdict,
)
from bench.profiling import Profiler, top

IDLE_SECONDS = 5
REGISTER_CONCURRENCY = 64
CONCURRENCY = 32
OPEN_LOOP_CONNECTIONS = 512
P99_TARGET_MS = 50.0
SATURATION_TARGET = 0.3
POLL_WAIT_S = 25
LEASE_S = 5  # the least a fetch may ask: an ack that did not stick comes back soon
LEASE_EXPIRY_JOB_S = 5  # RELAY_JOB_INBOX_LEASE_EXPIRY_SECONDS default
DRAIN_TIMEOUT_S = 60.0
WARM_UP_MESSAGES = 200
THREAD_SLACK = 4
IDLE_STABLE_S = 3.0
IDLE_WAIT_S = 60.0
WINDOW_S = 10.0
QUIET_SAMPLE_S = 5.0
CRASH_AGENTS = 20
CRASH_FETCH_LIMIT = 100
RECOVERY_TIMEOUT_S = 300.0
PROFILE_TOP = 25


_ACK_MODES = {
    "fetch": "in the next fetch (GET …/inbox?ack=<leaseId>): send + one fetch per message; "
    "rates end at the last receipt",
    "route": "POST …/inbox/ack (deliveryIds) at once, beside the next poll: 4 requests per "
    "message; rates end at the last accepted ack",
}


def _agent_id(n: int) -> str:
    return f"bench-msg-{n}"


def delivery_key(message_id: str, agent_id: str) -> str:
    return f"{message_id}/{agent_id}"


def _label(exc: BaseException) -> str:
    return type(exc).__name__


def _count(bucket: dict[str, int], label: str) -> None:
    bucket[label] = bucket.get(label, 0) + 1


# -- bookkeeping ----------------------------------------------------------------------------


@dataclass
class Tally:
    """What the senders got a 201 for and what the consumers received and acked, per
    delivery: a key is ``<message id>/<agent id>`` (a broadcast has one per recipient)."""

    sent: dict[str, float] = field(default_factory=dict)  # delivery key -> t0
    received: dict[str, int] = field(default_factory=dict)  # delivery key -> times handed out
    latency_ms: dict[str, float] = field(default_factory=dict)  # first receipt only
    intake_ms: list[float] = field(default_factory=list)  # t0 -> createdAt
    handoff_ms: list[float] = field(default_factory=list)  # createdAt -> receipt
    acked: set[str] = field(default_factory=set)  # delivery keys whose ack returned 200
    dup_after_ack: int = 0
    redelivered_before_ack: int = 0
    foreign: int = 0  # handed out, but not sent in this tally's phase
    ack_errors: dict[str, int] = field(default_factory=dict)
    poll_errors: dict[str, int] = field(default_factory=dict)
    last_ack: float = 0.0
    last_receipt: float = 0.0  # perf_counter of the last first receipt
    unacked: set[str] = field(default_factory=set)  # sent, ack not yet accepted
    unreceived: set[str] = field(default_factory=set)  # sent, not handed out yet
    closed: bool = False  # the senders are done
    done: asyncio.Event = field(default_factory=asyncio.Event)  # closed and all acked
    received_all: asyncio.Event = field(default_factory=asyncio.Event)  # closed, all received

    def receive(self, message: dict[str, Any], agent_id: str, now: float) -> None:
        message_id = delivery_key(str(message["id"]), agent_id)
        try:
            t0 = float(json.loads(message["body"])["t0"])
        except (ValueError, KeyError, TypeError):
            self.foreign += 1
            return
        seen = self.received.get(message_id, 0)
        self.received[message_id] = seen + 1
        if message_id in self.acked:
            self.dup_after_ack += 1
        elif seen:
            self.redelivered_before_ack += 1
        else:
            self.latency_ms[message_id] = (now - t0) * 1000
            self.last_receipt = time.perf_counter()
            self.unreceived.discard(message_id)
            self._check_done()
            created = message.get("createdAt")
            if isinstance(created, int):
                self.intake_ms.append(created - t0 * 1000)
                self.handoff_ms.append(now * 1000 - created)

    def sent_ok(self, keys: list[str], t0: float) -> None:
        for key in keys:
            self.sent[key] = t0
            if key not in self.acked:  # a consumer can beat the POST's reply
                self.unacked.add(key)
            if key not in self.received:
                self.unreceived.add(key)

    def acked_ok(self, message_ids: list[str]) -> None:
        self.acked.update(message_ids)
        self.unacked.difference_update(message_ids)
        self.last_ack = time.perf_counter()
        self._check_done()

    def close(self) -> None:
        self.closed = True
        self._check_done()

    def _check_done(self) -> None:
        if self.closed and not self.unreceived:
            self.received_all.set()
        if self.closed and not self.unacked:
            self.done.set()

    def all_acked(self) -> bool:
        return self.closed and not self.unacked


@dataclass
class Consumers:
    """One long-poll per agent; ``tally`` is swapped between phases."""

    tally: Tally
    ack_mode: str = "fetch"  # fetch: ?ack= in the next poll; route: POST …/inbox/ack
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    acks: set[asyncio.Task[None]] = field(default_factory=set)


# -- consumers ------------------------------------------------------------------------------


async def _ack(
    session: aiohttp.ClientSession,
    server: Server,
    agent_id: str,
    lease_id: str,
    items: list[tuple[str, str]],  # (delivery id, delivery key)
    tally: Tally,
) -> None:
    url = f"{server.base}/api/agents/{agent_id}/inbox/ack"
    body = json_body({"leaseId": lease_id, "deliveryIds": [d for d, _ in items]})
    headers = {**server.auth, "Content-Type": "application/json"}
    try:
        async with session.post(url, data=body, headers=headers) as response:
            await response.read()
            if response.status == 200:
                tally.acked_ok([m for _, m in items])
            else:
                _count(tally.ack_errors, f"ack HTTP {response.status}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        _count(tally.ack_errors, f"ack {_label(exc)}")


async def _long_poll(
    poll_session: aiohttp.ClientSession,
    ack_session: aiohttp.ClientSession,
    server: Server,
    agent_id: str,
    consumers: Consumers,
    ready: asyncio.Event,
) -> None:
    url = f"{server.base}/api/agents/{agent_id}/inbox"
    loop = asyncio.get_running_loop()
    wait = 0  # the first poll returns at once: it proves the route
    # --ack-mode fetch: the lease this poll acks, its delivery keys and their tally.
    pending: tuple[str, list[str], Tally] | None = None
    while True:
        query = {"wait": str(wait), "lease": str(LEASE_S), "limit": "100"}
        if pending is not None:
            query["ack"] = pending[0]
        try:
            async with poll_session.get(url, params=query, headers=server.auth) as response:
                payload = await response.read()
                now = time.time()
                tally = consumers.tally  # at the reply: a poll can span two phases
                if pending is not None:
                    # The ack rode on this poll: stored with a 200, refused (nothing
                    # fetched) otherwise; then the lease runs out and it comes back.
                    if response.status == 200:
                        pending[2].acked_ok(pending[1])
                    else:
                        _count(pending[2].ack_errors, f"ack in fetch HTTP {response.status}")
                    pending = None
                if response.status != 200:
                    _count(tally.poll_errors, f"poll HTTP {response.status}")
                    await asyncio.sleep(0.2)
                    continue
        except (aiohttp.ClientError, TimeoutError) as exc:
            if pending is not None:
                _count(pending[2].ack_errors, f"ack in fetch {_label(exc)}")
                pending = None
            _count(consumers.tally.poll_errors, f"poll {_label(exc)}")
            await asyncio.sleep(0.2)
            continue
        reply = json.loads(payload)
        items: list[tuple[str, str]] = []
        for item in reply["items"]:
            tally.receive(item["message"], agent_id, now)
            key = delivery_key(str(item["message"]["id"]), agent_id)
            items.append((str(item["deliveryId"]), key))
        if items and reply["leaseId"]:
            if consumers.ack_mode == "fetch":
                pending = (str(reply["leaseId"]), [m for _, m in items], tally)
            else:
                # Ack at once, without holding up the next poll.
                task = loop.create_task(
                    _ack(ack_session, server, agent_id, reply["leaseId"], items, tally)
                )
                consumers.acks.add(task)
                task.add_done_callback(consumers.acks.discard)
        ready.set()
        wait = POLL_WAIT_S


async def _start_consumers(
    poll_session: aiohttp.ClientSession,
    ack_session: aiohttp.ClientSession,
    server: Server,
    agents: list[str],
    consumers: Consumers,
) -> None:
    loop = asyncio.get_running_loop()
    readies: list[asyncio.Event] = []
    for agent_id in agents:
        ready = asyncio.Event()
        readies.append(ready)
        consumers.tasks.append(
            loop.create_task(
                _long_poll(poll_session, ack_session, server, agent_id, consumers, ready)
            )
        )
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), timeout=120)


async def _stop_consumers(consumers: Consumers) -> None:
    tasks = consumers.tasks + list(consumers.acks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    consumers.tasks.clear()


# -- sending --------------------------------------------------------------------------------


def _pair(index: int, agents: list[str]) -> tuple[str, str]:
    """(from, to) for message ``index``: round-robin recipients, the next agent sends."""
    n = len(agents)
    return agents[(index + 1) % n], agents[index % n]


async def _post_message(
    session: aiohttp.ClientSession,
    server: Server,
    sender: str,
    to: str,
    t0: float,
    index: int,
    tally: Tally | None,
) -> tuple[str | None, dict[str, Any] | None]:
    """POST one ackRequired direct message; (None, message) on a 201, else (why, None)."""
    return await _post(
        session, server, {"from": sender, "to": to}, t0, index, tally, expect_recipients=1
    )


async def _post_to_channel(
    session: aiohttp.ClientSession,
    server: Server,
    channel: Channel,
    t0: float,
    index: int,
    tally: Tally | None,
) -> tuple[str | None, dict[str, Any] | None]:
    """POST one ackRequired message to a channel, as root (no outbound binding needed)."""
    expect = len(channel.members) if channel.mode == "broadcast" else 1
    return await _post(
        session, server, {"channelId": channel.id}, t0, index, tally, expect_recipients=expect
    )


async def _post(
    session: aiohttp.ClientSession,
    server: Server,
    address: dict[str, str],
    t0: float,
    index: int,
    tally: Tally | None,
    *,
    expect_recipients: int,
) -> tuple[str | None, dict[str, Any] | None]:
    body = json_body({**address, "ackRequired": True, "body": json.dumps({"t0": t0, "k": index})})
    headers = {**server.auth, "Content-Type": "application/json"}
    try:
        async with session.post(
            f"{server.base}/api/messages", data=body, headers=headers
        ) as response:
            payload = await response.read()
            if response.status != 201:
                return f"HTTP {response.status}", None
    except (aiohttp.ClientError, TimeoutError) as exc:
        return _label(exc), None
    reply = json.loads(payload)
    message: dict[str, Any] = reply["message"]
    recipients = [str(d["agentId"]) for d in reply["deliveries"]]
    if tally is not None:
        tally.sent_ok([delivery_key(str(message["id"]), a) for a in recipients], t0)
    if len(recipients) != expect_recipients:
        return f"{len(recipients)} deliveries, not {expect_recipients}", message
    return None, message


@dataclass
class Run:
    tally: Tally
    send: Phase
    wall_s: float  # first send -> last accepted ack (or the drain timeout)
    cpu: CpuUse
    drained: bool
    server_cpu_s: float = 0.0  # the server's CPU from the first send to the rate's end

    @property
    def acked_rate(self) -> float:
        return len(self.tally.acked & self.tally.sent.keys()) / self.wall_s

    @property
    def cpu_ms_per_delivery(self) -> float:
        """Server CPU per delivery acked: the figure a noisy machine leaves comparable
        (rates and latencies depend on what else runs; CPU per message much less)."""
        acked = len(self.tally.acked & self.tally.sent.keys())
        return self.server_cpu_s * 1000 / acked if acked else float("nan")


async def _drain(tally: Tally, timeout: float, ack_mode: str) -> None:
    tally.close()
    started = time.perf_counter()
    if ack_mode == "fetch":
        # Every delivery received first (the rate's end), then the acks' replies: a fetch
        # carrying the last ack may wait out its long-poll before it answers.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.received_all.wait(), timeout)
        timeout = max(timeout - (time.perf_counter() - started), 0) + POLL_WAIT_S + 5
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(tally.done.wait(), timeout)


async def _message_run(
    session: aiohttp.ClientSession,
    server: Server,
    consumers: Consumers,
    agents: list[str],
    count: int,
    name: str,
    *,
    rate: float | None = None,
    concurrency: int = CONCURRENCY,
    channels: list[Channel] | None = None,
    profile: str | None = None,
) -> Run:
    """Send ``count`` messages (open loop at ``rate``, else closed at ``concurrency``) and
    wait until the consumers have acked every delivery. Message ``i`` goes to
    ``channels[i % len(channels)]`` if given, else directly to an agent (``_pair``).
    ``profile``: py-spy records the server from the first send to the drain."""

    async def post(index: int, t0: float) -> str | None:
        if channels:
            channel = channels[index % len(channels)]
            error, _ = await _post_to_channel(session, server, channel, t0, index, tally)
        else:
            sender, to = _pair(index, agents)
            error, _ = await _post_message(session, server, sender, to, t0, index, tally)
        return error

    tally = Tally()
    consumers.tally = tally
    meter = CpuMeter(server.pid)
    metered = time.monotonic()
    profiler = Profiler.start(server.pid, profile) if profile else None
    started = time.perf_counter()
    if rate is None:

        async def closed(index: int) -> str | None:
            return await post(index, time.time())

        phase = await run_closed_loop(name, closed, count, concurrency, server.pid)
    else:
        phase, _lag = await run_open_loop(name, post, rate, count, server.pid)
    tally.close()
    if consumers.ack_mode == "fetch":
        # The rate ends at the last receipt, and so does the CPU measured with it: the
        # acks' replies that follow may wait out a long-poll, and an idle wait averaged in
        # made a saturated server look a third busy.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.received_all.wait(), DRAIN_TIMEOUT_S)
    cpu = meter.stop()
    server_cpu_s = cpu.server / 100 * (time.monotonic() - metered)
    await _drain(tally, DRAIN_TIMEOUT_S, consumers.ack_mode)
    if profiler is not None:
        profiler.stop()
    drained = tally.all_acked()
    if consumers.ack_mode == "fetch":
        end = tally.last_receipt if tally.received_all.is_set() else time.perf_counter()
    else:
        end = tally.last_ack if drained else time.perf_counter()
    return Run(tally, phase, max(end - started, 1e-9), cpu, drained, server_cpu_s)


# -- channels -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Channel:
    id: str
    mode: str  # exclusive | broadcast
    members: tuple[str, ...]  # bound agents (one binding each, targetType agent)


def _channel_plan(agents: list[str], count: int, members: int) -> list[Channel]:
    """``count`` channels, the first half exclusive, the rest broadcast, each bound to
    ``members`` consecutive agents (wrapping), so every agent is bound somewhere."""
    n = len(agents)
    plan = []
    for j in range(count):
        mode = "exclusive" if j < count // 2 else "broadcast"
        group = tuple(agents[(j * members + k) % n] for k in range(min(members, n)))
        plan.append(Channel(f"bench-{mode[:2]}-{j}", mode, group))
    return plan


async def _create_channels(
    session: aiohttp.ClientSession, server: Server, plan: list[Channel]
) -> Phase:
    headers = {**server.auth, "Content-Type": "application/json"}
    for channel in plan:
        url = f"{server.base}/api/channels"
        async with session.post(url, data=json_body({"id": channel.id}), headers=headers) as r:
            if r.status != 201:
                raise RuntimeError(f"POST /api/channels {channel.id}: {r.status}")
    bindings = [(c, agent) for c in plan for agent in c.members]

    def request(index: int) -> Request:
        channel, agent = bindings[index]
        body = {"mode": channel.mode, "targetType": "agent", "target": agent}
        return ("POST", f"{server.base}/api/channels/{channel.id}/bindings", json_body(body))

    return await closed_loop(
        session,
        f"bind ({len(bindings)})",
        request,
        len(bindings),
        REGISTER_CONCURRENCY,
        headers,
        server.pid,
    )


# -- part 1: idle inboxes -------------------------------------------------------------------


async def _register(session: aiohttp.ClientSession, server: Server, agents: list[str]) -> Phase:
    url = f"{server.base}/api/agents"
    headers = {**server.auth, "Content-Type": "application/json"}

    def request(index: int) -> Request:
        return ("POST", url, json_body({"id": agents[index]}))

    return await closed_loop(
        session,
        f"register ({len(agents)})",
        request,
        len(agents),
        REGISTER_CONCURRENCY,
        headers,
        server.pid,
    )


async def _wait_threads(
    pid: int, baseline: int, limit_s: float
) -> tuple[float, bool, list[tuple[float, int]]]:
    """Poll the thread count until it stays near ``baseline`` for IDLE_STABLE_S."""
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


@dataclass
class IdleResult:
    fetch: Phase
    before: tuple[int, float]
    peak_threads: int
    after_fetch: tuple[int, float]
    idle: tuple[int, float]
    idle_s: float
    reached: bool
    timeline: list[tuple[float, int]]


async def _idle_inboxes(
    session: aiohttp.ClientSession, server: Server, agents: list[str]
) -> IdleResult:
    pid = server.pid
    await asyncio.sleep(IDLE_SECONDS * 2)  # the registrations' actors retire first
    before = threads_and_rss_mb(pid)
    peak = before[0]
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, threads_and_rss_mb(pid)[0])
            await asyncio.sleep(0.2)

    sampler = asyncio.create_task(sample())

    def request(index: int) -> Request:
        url = f"{server.base}/api/agents/{agents[index]}/inbox?wait=0"
        return ("GET", url, None)

    fetch = await closed_loop(
        session,
        f"GET inbox once ({len(agents)})",
        request,
        len(agents),
        REGISTER_CONCURRENCY,
        server.auth,
        pid,
    )
    after_fetch = threads_and_rss_mb(pid)
    done.set()
    await sampler
    peak = max(peak, after_fetch[0])
    idle_s, reached, timeline = await _wait_threads(pid, before[0], IDLE_WAIT_S)
    idle = threads_and_rss_mb(pid)
    return IdleResult(fetch, before, peak, after_fetch, idle, idle_s, reached, timeline)


# -- the main run ---------------------------------------------------------------------------


def _cpu_text(cpu: CpuUse) -> str:
    return (
        f"server {cpu.server:.0f}%, client {cpu.client:.0f}%, other {cpu.other:.0f}% "
        f"(of one core; 2 cores = 200%); client saturated: {client_saturated(cpu)}"
    )


async def benchmark(args: argparse.Namespace, server: Server) -> list[Phase]:
    banner("messages benchmark", server, f" RELAY_ACTOR_IDLE_SECONDS={IDLE_SECONDS}")
    agents = [_agent_id(n) for n in range(args.agents)]
    c = args.concurrency
    count = round(args.rate * args.seconds)
    session = new_session(limit=max(c, REGISTER_CONCURRENCY))
    # Open-loop sends get connections enough to reach the server: with the closed loops'
    # 64, a send the server was slow to take waited for a connection in the client and
    # timed out there (the last runs' 30 s "timeouts" on channels), and the server never
    # saw the load it was offered, nor shed it (RELAY_MAX_SENDS_IN_FLIGHT).
    open_session = new_session(limit=OPEN_LOOP_CONNECTIONS)
    poll_session = new_session(limit=args.agents + 8)
    ack_session = new_session(limit=64)
    consumers = Consumers(Tally(), ack_mode=args.ack_mode)
    async with session, open_session, poll_session, ack_session:
        print(HEADER, flush=True)
        registered = await _register(session, server, agents)
        print_phase(registered)
        idle = await _idle_inboxes(session, server, agents)
        print_phase(idle.fetch)
        _print_idle(idle, args.agents)

        plan = _channel_plan(agents, args.channels, args.channel_members)
        if plan:
            print_phase(await _create_channels(session, server, plan))
        await _start_consumers(poll_session, ack_session, server, agents, consumers)
        print(
            f"connected: {args.agents} long-polls (wait={POLL_WAIT_S}, lease={LEASE_S}); "
            f"acks: {_ACK_MODES[args.ack_mode]}"
        )
        # What the waiting long-polls cost on their own, before any message is sent.
        meter = CpuMeter(server.pid)
        await asyncio.sleep(QUIET_SAMPLE_S)
        quiet = meter.stop()
        print(
            f"no messages, {args.agents} long-polls waiting for {QUIET_SAMPLE_S:g} s: "
            f"{_cpu_text(quiet)}; {threads_and_rss_mb(server.pid)[0]} server threads",
            flush=True,
        )
        warm = await _message_run(
            session, server, consumers, agents, WARM_UP_MESSAGES, "warm-up (not counted)"
        )
        print_phase(warm.send)
        steady = await _message_run(
            open_session,
            server,
            consumers,
            agents,
            count,
            f"open {args.rate:g}/s POST /api/messages",
            rate=args.rate,
            profile=args.profile if args.profile_phase == "steady" else None,
        )
        print_phase(steady.send)
        on_channels: Run | None = None
        if plan:
            on_channels = await _message_run(
                open_session,
                server,
                consumers,
                agents,
                count,
                f"open {args.rate:g}/s to {len(plan)} channels",
                rate=args.rate,
                channels=plan,
            )
            print_phase(on_channels.send)
        saturated = await _message_run(
            session,
            server,
            consumers,
            agents,
            args.saturation_messages,
            f"closed c={c} POST /api/messages",
            concurrency=c,
            profile=args.profile if args.profile_phase == "saturation" else None,
        )
        print_phase(saturated.send)
        # Past a lease plus a lease-expiry run: an ack that did not stick is handed out again.
        watch_s = LEASE_S + LEASE_EXPIRY_JOB_S + 2
        await asyncio.sleep(watch_s)
        await _stop_consumers(consumers)

        def healthz(_i: int) -> Request:
            return ("GET", f"{server.base}/healthz", None)

        await closed_loop(session, "warm-up", healthz, 1_000, c, {}, server.pid)
        bare = await closed_loop(
            session,
            f"closed c={c} GET /healthz",
            healthz,
            args.saturation_messages * 2,
            c,
            {},
            server.pid,
        )
        print_phase(bare)

    print()
    print(
        f"== summary: messages, {args.agents} agents each long-polling its inbox and acking "
        f"on receipt; direct messages, ackRequired; duplicates watched {watch_s:g} s past the "
        f"last drain with lease {LEASE_S} s"
    )
    print(f"-- steady load: {count} messages at {args.rate:g}/s for {args.seconds:g} s (targets)")
    _report(steady, count, judged=True)
    if on_channels is not None:
        exclusive = sum(1 for c in plan if c.mode == "exclusive")
        print(
            f"-- steady load on channels: {count} messages at {args.rate:g}/s for "
            f"{args.seconds:g} s over {len(plan)} channels ({exclusive} exclusive, "
            f"{len(plan) - exclusive} broadcast, {args.channel_members} agents bound to each); "
            "counted per delivery (targets)"
        )
        _report(on_channels, count, judged=True)
    print(f"-- saturation: {args.saturation_messages} messages, closed loop at c={c}")
    _report(saturated, args.saturation_messages, judged=False)
    ratio = saturated.acked_rate / bare.rate
    print(
        f"messages/s at saturation: {saturated.acked_rate:.0f} received+acked per second of "
        f"send+drain ({saturated.wall_s:.2f} s, acks {args.ack_mode}); "
        f"POST /api/messages {saturated.send.rate:.0f}/s; "
        f"bare GET /healthz {bare.rate:.0f} req/s at c={c} (same run): ratio {ratio:.2f} "
        f"(target >= {SATURATION_TARGET}: {verdict(ratio >= SATURATION_TARGET)})"
    )
    print(f"CPU at steady load: {_cpu_text(steady.cpu)}")
    print(f"CPU at saturation: {_cpu_text(saturated.cpu)}")
    assert bare.cpu is not None
    print(f"CPU during /healthz: {_cpu_text(bare.cpu)}")
    threads, rss = threads_and_rss_mb(server.pid)
    print(f"server at the end: {threads} threads, VmRSS {rss:.0f} MB")
    print(f"server log: {server.log_problems()} ERROR/Traceback lines", flush=True)
    if args.profile:
        print(f"py-spy profile of the {args.profile_phase} phase (send+drain): {args.profile}")
        if Path(args.profile).suffix not in (".svg", ".json"):
            print(top(Path(args.profile), PROFILE_TOP), flush=True)
    phase = Phase("saturation send+drain")
    phase.cpu = saturated.cpu
    steady_phase = Phase("steady send+drain")
    steady_phase.cpu = steady.cpu
    return [steady_phase, saturated.send, phase, bare]


def _print_idle(idle: IdleResult, agents: int) -> None:
    print()
    print(f"== idle inboxes: {agents} agents registered, each inbox fetched once (wait=0)")
    print(f"{'server':<34} {'threads':>8} {'VmRSS MB':>9}")
    print(f"{'before the fetches':<34} {idle.before[0]:>8} {idle.before[1]:>9.0f}")
    print(f"{'peak during the fetches':<34} {idle.peak_threads:>8} {'':>9}")
    print(f"{'right after the fetches':<34} {idle.after_fetch[0]:>8} {idle.after_fetch[1]:>9.0f}")
    print(f"{f'idle ({idle.idle_s:.1f} s later)':<34} {idle.idle[0]:>8} {idle.idle[1]:>9.0f}")
    print(
        "threads while waiting for idle (s: threads): "
        + ", ".join(f"{t:.0f}: {n}" for t, n in idle.timeline)
    )
    # Threads follow the active set: far below one per inbox during the fetches (at most
    # the fetch concurrency plus those not yet swept) and back to the count before once idle.
    print(
        f"threads follow the active set: {verdict(idle.reached)} (back to {idle.before[0]} "
        f"+{THREAD_SLACK} for {IDLE_STABLE_S:.0f} s: "
        f"{'yes' if idle.reached else f'NO after {IDLE_WAIT_S:.0f} s'}; peak "
        f"{idle.peak_threads} with {agents} inboxes fetched at c={REGISTER_CONCURRENCY})"
    )
    print(flush=True)


def _report(run: Run, requested: int, *, judged: bool) -> None:
    tally = run.tally
    latencies = sorted(tally.latency_ms.values())
    sent = len({key.split("/", 1)[0] for key in tally.sent})
    lost = sum(1 for mid in tally.sent if mid not in tally.received)
    acked = len(tally.acked & tally.sent.keys())
    p99 = percentile(latencies, 99)

    def target(ok: bool, text: str) -> str:
        return f" (target {text}: {verdict(ok)})" if judged else ""

    print(
        f"sent {sent} of {requested}, {len(tally.sent)} deliveries (POST failures "
        f"{run.send.failed}"
        f"{' ' + str(run.send.errors) if run.send.errors else ''}); received "
        f"{sum(tally.received.values())} hand-outs, {len(tally.received)} unique; lost {lost}"
        f"{target(lost == 0, '0')}; handed out twice after an ack {tally.dup_after_ack}"
        f"{target(tally.dup_after_ack == 0, '0')}; redelivered before ack "
        f"{tally.redelivered_before_ack}; received though their POST failed "
        f"{sum(1 for mid in tally.received if mid not in tally.sent)}; foreign {tally.foreign}"
    )
    print(
        f"acked {acked} (ack errors {sum(tally.ack_errors.values())}"
        f"{' ' + str(tally.ack_errors) if tally.ack_errors else ''}); poll errors "
        f"{sum(tally.poll_errors.values())}"
        f"{' ' + str(tally.poll_errors) if tally.poll_errors else ''}; drained: "
        f"{'yes' if run.drained else f'NO (gave up after {DRAIN_TIMEOUT_S:.0f} s)'}; "
        f"{run.acked_rate:.0f} deliveries/s acked; server CPU {run.cpu_ms_per_delivery:.2f} ms "
        "per delivery"
    )
    print(
        f"send -> receipt: p50 {percentile(latencies, 50):.1f} ms, p99 {p99:.1f} ms, "
        f"max {percentile(latencies, 100):.1f} ms"
        f"{target(p99 < P99_TARGET_MS, f'p99 < {P99_TARGET_MS:.0f} ms')}"
    )
    for label, values in (
        ("t0 -> createdAt (intake)", tally.intake_ms),
        ("createdAt -> receipt (hand-off)", tally.handoff_ms),
    ):
        values.sort()
        print(
            f"  {label:<34} p50 {percentile(values, 50):7.1f} ms  "
            f"p99 {percentile(values, 99):7.1f} ms  max {percentile(values, 100):7.1f} ms"
        )
    if judged and latencies:
        start = min(tally.sent.values())
        windows: dict[int, list[float]] = {}
        for message_id, latency in tally.latency_ms.items():
            window = int((tally.sent.get(message_id, start) - start) // WINDOW_S)
            windows.setdefault(window, []).append(latency)
        text = "  ".join(
            f"{w * WINDOW_S:g}s:{percentile(sorted(v), 99):.0f}" for w, v in sorted(windows.items())
        )
        print(f"  p99 ms per {WINDOW_S:g} s window of sending: {text}")


# -- part 2: kill -9 ------------------------------------------------------------------------


@dataclass
class CrashSent:
    messages: dict[str, tuple[str, int]] = field(default_factory=dict)  # id -> (conv, seq)
    recipients: set[str] = field(default_factory=set)
    phase: Phase | None = None


async def _crash_send(server: Server, count: int, concurrency: int) -> CrashSent:
    agents = [_agent_id(n) for n in range(CRASH_AGENTS)]
    result = CrashSent()
    async with new_session(limit=max(concurrency, REGISTER_CONCURRENCY)) as session:
        print_phase(await _register(session, server, agents))

        async def attempt(index: int) -> str | None:
            sender, to = _pair(index, agents)
            error, message = await _post_message(
                session, server, sender, to, time.time(), index, None
            )
            if message is not None:
                result.messages[str(message["id"])] = (
                    str(message["conversationId"]),
                    int(message["seq"]),
                )
                result.recipients.add(to)
            return error

        result.phase = await run_closed_loop(
            f"closed c={concurrency} POST /api/messages", attempt, count, concurrency, server.pid
        )
        print_phase(result.phase)
    return result


@dataclass
class Recovery:
    got: dict[str, int] = field(default_factory=dict)  # message id -> times handed out
    fetches: int = 0
    ack_failures: int = 0
    last: float = 0.0
    # conversation id -> (lastSeq, seqs read back, message ids read back)
    conversations: dict[str, tuple[int, list[int], set[str]]] = field(default_factory=dict)


async def _crash_recover(server: Server, recipients: set[str], conversations: set[str]) -> Recovery:
    result = Recovery(last=time.perf_counter())
    deadline = time.perf_counter() + RECOVERY_TIMEOUT_S
    async with new_session(limit=CRASH_AGENTS + 4) as session:

        async def drain(agent_id: str) -> None:
            url = f"{server.base}/api/agents/{agent_id}/inbox"
            query = {"wait": "0", "limit": str(CRASH_FETCH_LIMIT), "lease": "60"}
            while time.perf_counter() < deadline:
                result.fetches += 1
                async with session.get(url, params=query, headers=server.auth) as response:
                    payload = await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"fetch: HTTP {response.status} {payload!r}")
                reply = json.loads(payload)
                if not reply["items"]:
                    return
                result.last = time.perf_counter()
                for item in reply["items"]:
                    mid = str(item["message"]["id"])
                    result.got[mid] = result.got.get(mid, 0) + 1
                body = json_body({"leaseId": reply["leaseId"]})
                headers = {**server.auth, "Content-Type": "application/json"}
                async with session.post(f"{url}/ack", data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        result.ack_failures += 1

        await asyncio.gather(*(drain(a) for a in sorted(recipients)))

        async def read_back(conversation_id: str) -> None:
            url = f"{server.base}/api/conversations/{conversation_id}/messages"
            after, seqs, ids, last_seq = 0, [], set(), 0
            while True:
                query = {"afterSeq": str(after), "limit": "500"}
                async with session.get(url, params=query, headers=server.auth) as response:
                    payload = await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"read back: HTTP {response.status} {payload!r}")
                page = json.loads(payload)
                last_seq = int(page["lastSeq"])
                if not page["messages"]:
                    break
                for message in page["messages"]:
                    seqs.append(int(message["seq"]))
                    ids.add(str(message["id"]))
                after = seqs[-1]
            result.conversations[conversation_id] = (last_seq, seqs, ids)

        await asyncio.gather(*(read_back(c) for c in sorted(conversations)))
    return result


def crash_benchmark(args: argparse.Namespace) -> None:
    count, c = args.crash_messages, args.concurrency
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
            sent = asyncio.run(_crash_send(server, count, c))
        finally:
            kill9(server)
        killed_at = time.perf_counter()
        durable = len(sent.messages)
        print(
            f"sent {durable} messages (201 each) of {count} to {len(sent.recipients)} inboxes; "
            f"SIGKILL pid={server.pid} (exit {server.proc.returncode})",
            flush=True,
        )
        restarted = time.perf_counter()
        server = start_server(data_dir, port, root, log_path)
        ready_s = time.perf_counter() - restarted
        conversations = {conv for conv, _ in sent.messages.values()}
        try:
            rec = asyncio.run(_crash_recover(server, sent.recipients, conversations))
            done = time.perf_counter()
            problems = server.log_problems()
        finally:
            stop_server(server)
    delivered = sum(1 for mid in sent.messages if mid in rec.got)
    duplicates = sum(times - 1 for times in rec.got.values())
    unknown = sum(1 for mid in rec.got if mid not in sent.messages)
    gap_free = 0
    missing_in_conv = 0
    bad: list[str] = []
    for conv, (last_seq, seqs, _ids) in sorted(rec.conversations.items()):
        if seqs == list(range(1, last_seq + 1)):
            gap_free += 1
        else:
            bad.append(f"{conv}: lastSeq {last_seq}, {len(seqs)} read, {len(set(seqs))} distinct")
    for mid, (conv, _seq) in sent.messages.items():
        _last, seqs, ids = rec.conversations.get(conv, (0, [], set()))
        if mid not in ids:
            missing_in_conv += 1
    all_ok = delivered == durable == count
    seq_ok = gap_free == len(conversations) and missing_in_conv == 0
    print()
    print("== summary: crash recovery")
    print(
        f"delivered after restart: {delivered} of {durable} acknowledged messages "
        f"(target all: {verdict(all_ok)}); handed out twice {duplicates}; unknown ids "
        f"{unknown}; {rec.fetches} fetches (limit={CRASH_FETCH_LIMIT}, the last per inbox "
        f"empty); ack failures {rec.ack_failures}"
    )
    print(
        f"seq read back: {gap_free} of {len(conversations)} conversations 1..lastSeq with no "
        f"gap or repeat; acknowledged messages missing from their conversation "
        f"{missing_in_conv} (target gap-free, none missing: {verdict(seq_ok)})"
    )
    for line in bad[:5]:
        print(f"  {line}")
    print(
        f"recovery: restart -> ready {ready_s:.2f} s; restart -> last delivery "
        f"{rec.last - restarted:.2f} s; kill -> last delivery {rec.last - killed_at:.2f} s "
        f"(until every inbox was empty and read back: {done - restarted:.2f} s)"
    )
    print(f"server log (both runs): {problems} ERROR/Traceback lines", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--agents",
        type=int,
        default=1_000,
        help="agents, each with a long-polling consumer (default 1000)",
    )
    parser.add_argument(
        "--rate", type=float, default=200.0, help="steady load: messages per second (default 200)"
    )
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="steady load: how long (default 60)"
    )
    parser.add_argument(
        "--saturation-messages",
        type=int,
        default=3_000,
        help="saturation: messages sent in a closed loop at --concurrency (default 3000)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=CONCURRENCY,
        help=f"saturation, crash sends and /healthz concurrency (default {CONCURRENCY})",
    )
    parser.add_argument(
        "--crash-messages",
        type=int,
        default=10_000,
        help="messages queued before the kill -9 (default 10000)",
    )
    parser.add_argument(
        "--channels",
        type=int,
        default=50,
        help="channels for the channel load, half exclusive, half broadcast (default 50; 0: none)",
    )
    parser.add_argument(
        "--channel-members",
        type=int,
        default=20,
        help="agents bound to each channel (default 20)",
    )
    parser.add_argument(
        "--ack-mode",
        choices=sorted(_ACK_MODES),
        default="fetch",
        help="how consumers ack: in their next fetch (?ack=, default) or POST …/inbox/ack",
    )
    parser.add_argument("--skip-crash", action="store_true", help="no kill -9 part")
    parser.add_argument(
        "--profile",
        help="py-spy record one phase into this file (.svg flame graph, .json speedscope, "
        "else collapsed stacks, whose top entries are printed)",
    )
    parser.add_argument(
        "--profile-phase",
        choices=("saturation", "steady"),
        default="saturation",
        help="the phase --profile records, send to drain (default saturation)",
    )
    parser.add_argument("--log-level", help="server log level (default: the server's, INFO)")
    args = parser.parse_args()
    # Agents stay online for the whole run: the consumers do not heartbeat, and an exclusive
    # channel routes only to online agents.
    env = {"RELAY_ACTOR_IDLE_SECONDS": str(IDLE_SECONDS), "RELAY_AGENT_STALE_SECONDS": "3600"}
    with relay_server(env, log_level=args.log_level) as server:
        phases = asyncio.run(benchmark(args, server))
    if warning := noise_warning(phases):
        print(warning, flush=True)
    if not args.skip_crash:
        crash_benchmark(args)


if __name__ == "__main__":
    main()
