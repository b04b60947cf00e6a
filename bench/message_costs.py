"""What one message costs the server, request kind by request kind (issue 19's saturation).

    .venv/bin/python -m bench.message_costs [-n 4000] [--agents 200] [--concurrency 32]

One server. Each kind alone, a closed loop of ``-n`` requests at ``--concurrency`` (after
300 not counted), no consumers: ``GET /healthz`` (the bare endpoint), an inbox peek (an
authorized read that writes nothing), a heartbeat (an authorized POST, one agent actor
and no message), and a send (``POST /api/messages``, ``ackRequired``, between two of
``--agents`` agents, its delivery left queued). For each: replies per second and the
server's CPU per request (user + system, all threads), and that CPU in ``/healthz``
requests. A message at saturation (``bench.messages``) is one send and one fetch that acks
the last lease: at least a send and a peek here. Nothing leaves 127.0.0.1; every loop is
bounded; the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable

from bench.common import (
    HEADER,
    Phase,
    Request,
    Server,
    banner,
    closed_loop,
    json_body,
    new_session,
    print_phase,
    relay_server,
)

WARM_UP = 300


def _kinds(server: Server, agents: list[str]) -> dict[str, Callable[[int], Request]]:
    n = len(agents)

    def send(i: int) -> Request:
        body = {"from": agents[(i + 1) % n], "to": agents[i % n], "body": "x" * 40}
        return ("POST", f"{server.base}/api/messages", json_body({**body, "ackRequired": True}))

    return {
        "GET /healthz": lambda _i: ("GET", f"{server.base}/healthz", None),
        "GET inbox?peek=true": lambda i: (
            "GET",
            f"{server.base}/api/agents/{agents[i % n]}/inbox?peek=true",
            None,
        ),
        "POST heartbeat": lambda i: (
            "POST",
            f"{server.base}/api/agents/{agents[i % n]}/heartbeat",
            json_body({}),
        ),
        "POST /api/messages": send,
    }


def _cpu_us(phase: Phase) -> float:
    assert phase.cpu is not None
    return phase.cpu.server / 100 * phase.wall_s / max(phase.ok, 1) * 1e6


async def benchmark(args: argparse.Namespace, server: Server) -> None:
    banner("message costs: each request kind alone, closed loop, no consumers", server)
    agents = [f"a{i}" for i in range(args.agents)]
    headers = {**server.auth, "Content-Type": "application/json"}
    async with new_session(limit=max(args.concurrency, 32)) as session:
        print(HEADER, flush=True)

        def register(i: int) -> Request:
            return ("POST", f"{server.base}/api/agents", json_body({"id": agents[i]}))

        print_phase(
            await closed_loop(session, "register", register, len(agents), 32, headers, server.pid)
        )
        measured: dict[str, Phase] = {}
        for name, request in _kinds(server, agents).items():
            c = args.concurrency
            await closed_loop(session, "warm-up", request, WARM_UP, c, headers, server.pid)
            phase = await closed_loop(session, name, request, args.requests, c, headers, server.pid)
            print_phase(phase)
            measured[name] = phase
    bare = _cpu_us(measured["GET /healthz"])
    print(f"\n{'kind':<22} {'req/s':>7} {'server CPU us/req':>18} {'in /healthz':>12}")
    for name, phase in measured.items():
        cost = _cpu_us(phase)
        print(f"{name:<22} {phase.rate:>7.0f} {cost:>18.0f} {cost / bare:>12.2f}")
    send, peek = _cpu_us(measured["POST /api/messages"]), _cpu_us(measured["GET inbox?peek=true"])
    print(
        f"a message is at least a send and a fetch: {(send + peek) / bare:.2f} x /healthz "
        f"(a send, and a fetch costing no more than a peek): at most "
        f"{bare / (send + peek):.2f} x /healthz messages/s; issue 19's target: 0.30",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-n", "--requests", type=int, default=4_000, help="requests per kind (default 4000)"
    )
    parser.add_argument("--agents", type=int, default=200, help="agents (default 200)")
    parser.add_argument("--concurrency", type=int, default=32, help="closed loop (default 32)")
    args = parser.parse_args()
    with relay_server({"RELAY_AGENT_STALE_SECONDS": "3600"}) as server:
        asyncio.run(benchmark(args, server))


if __name__ == "__main__":
    main()
