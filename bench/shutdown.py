"""Stopping under load: SIGTERM while long-polls, command channels, event streams and idle
keep-alive connections are open.

hypercorn waits for open requests (up to the graceful timeout, set here to GRACE_S) before
the app stops. relay drains instead: long-polls answer, channels close with 1001, event
streams end, idle connections are closed. This measures how long each client waits for its
clean end and how long the process takes to exit, next to the exit of a server with no
client at all, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from dataclasses import dataclass, field

import aiohttp

from bench.common import HOST, Server, json_body, new_session, relay_server, send

GRACE_S = 60.0


@dataclass
class Ends:
    """When (s after SIGTERM) each client of one kind saw its end, and whether it was clean."""

    clean: list[float] = field(default_factory=list)
    unclean: list[str] = field(default_factory=list)

    def line(self, name: str, opened: int) -> str:
        worst = f"{max(self.clean) * 1000:.0f} ms" if self.clean else "-"
        verdict = "all clean" if len(self.clean) == opened else f"unclean: {self.unclean[:3]}"
        return f"{name:<24} {opened:>6} {len(self.clean):>6}   last end {worst:>9}   {verdict}"


async def _long_poll(session: aiohttp.ClientSession, server: Server, target: str) -> object:
    url = f"{server.base}/api/orchestrators/{target}/commands?wait=25"
    async with session.get(url, headers=server.auth) as response:
        return response.status, await response.json()


async def _idle_connection(server: Server) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A keep-alive connection that made one request and now idles."""
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
    return reader, writer


async def _stop_timed(server: Server) -> float:
    started = time.perf_counter()
    server.proc.send_signal(signal.SIGTERM)
    await asyncio.to_thread(server.proc.wait, GRACE_S * 2)
    return time.perf_counter() - started


async def run(
    args: argparse.Namespace, server: Server
) -> tuple[dict[str, tuple[Ends, int]], float]:
    n = args.clients
    async with new_session(limit=0) as session:
        headers = {**server.auth, "Content-Type": "application/json"}
        for i in range(2 * n):
            body = json_body({"id": f"o{i}", "baseDir": "/srv"})
            await send(session, ("POST", f"{server.base}/api/orchestrators", body), headers)

        ends = {
            kind: Ends()
            for kind in ("long-poll", "WebSocket channel", "SSE stream", "idle keep-alive")
        }
        stopped_at = 0.0

        def since_stop() -> float:
            return time.perf_counter() - stopped_at

        async def poll(i: int) -> None:
            try:
                outcome = await _long_poll(session, server, f"o{i}")
            except aiohttp.ClientError as exc:
                ends["long-poll"].unclean.append(type(exc).__name__)
                return
            if outcome == (200, []):
                ends["long-poll"].clean.append(since_stop())
            else:
                ends["long-poll"].unclean.append(str(outcome))

        async def channel(ws: aiohttp.ClientWebSocketResponse) -> None:
            message = await ws.receive()
            if message.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1001:
                ends["WebSocket channel"].clean.append(since_stop())
            else:
                ends["WebSocket channel"].unclean.append(f"{message.type.name} {ws.close_code}")

        async def stream(response: aiohttp.ClientResponse) -> None:
            try:
                async for _chunk in response.content.iter_any():
                    pass
            except aiohttp.ClientPayloadError as exc:  # cut off instead of ended
                ends["SSE stream"].unclean.append(type(exc).__name__)
                return
            ends["SSE stream"].clean.append(since_stop())

        async def idle(reader: asyncio.StreamReader) -> None:
            if await reader.read() == b"":
                ends["idle keep-alive"].clean.append(since_stop())
            else:
                ends["idle keep-alive"].unclean.append("data")

        sockets = [
            await session.ws_connect(
                f"{server.base}/api/orchestrators/o{n + i}/channel", headers=server.auth
            )
            for i in range(n)
        ]
        streams = [
            await session.get(f"{server.base}/api/events", headers=server.auth) for _ in range(n)
        ]
        connections = [await _idle_connection(server) for _ in range(n)]
        tasks = [asyncio.create_task(poll(i)) for i in range(n)]
        tasks += [asyncio.create_task(channel(ws)) for ws in sockets]
        tasks += [asyncio.create_task(stream(response)) for response in streams]
        tasks += [asyncio.create_task(idle(reader)) for reader, _ in connections]
        await asyncio.sleep(1.0)  # the long-polls reach the server and wait

        stopped_at = time.perf_counter()
        exit_s = await _stop_timed(server)
        await asyncio.wait_for(asyncio.gather(*tasks), GRACE_S * 2)
        for _, writer in connections:
            writer.close()
        for response in streams:
            response.release()
    return {kind: (end, n) for kind, end in ends.items()}, exit_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="clients of each kind")
    args = parser.parse_args()
    env = {"RELAY_SHUTDOWN_GRACE_SECONDS": str(GRACE_S)}
    with relay_server(env) as server:
        bare_s = asyncio.run(_stop_timed(server))
    with relay_server(env) as server:
        print(
            f"== shutdown benchmark: relay serve pid={server.pid} {server.base}, "
            f"RELAY_SHUTDOWN_GRACE_SECONDS={GRACE_S:.0f}; {args.clients} clients of each kind",
            flush=True,
        )
        results, exit_s = asyncio.run(run(args, server))
        problems = server.log_problems()
    print(f"{'kind':<24} {'opened':>6} {'clean':>6}")
    for kind, (ends, opened) in results.items():
        print(ends.line(kind, opened))
    all_clean = all(len(ends.clean) == opened for ends, opened in results.values())
    print()
    print("== summary")
    print(
        f"SIGTERM -> exit: {exit_s:.2f} s with {4 * args.clients} clients open; "
        f"{bare_s:.2f} s with none (same run); graceful timeout {GRACE_S:.0f} s"
    )
    print(f"every client ended cleanly: {'yes' if all_clean else 'NO'}")
    print(f"server log: {problems} ERROR/Traceback lines")


if __name__ == "__main__":
    main()
