"""Dashboard benchmark: first render with 2,000 agents and 500 workspaces, and the delay from
an API change to the page showing it (p50/p99 over 200 changes).

A real ``relay serve`` on 127.0.0.1 and Debian's Chromium (Playwright). The page records,
with a MutationObserver, the wall-clock time each awaited text appears; the change's time
is taken right before its API call, in this process, on the same machine clock.

    .venv/bin/python -m bench.dashboard [--agents 2000] [--workspaces 500] [--changes 200]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import aiohttp
from playwright.async_api import Page, async_playwright

from bench.common import relay_server

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

WATCH = """
(wanted) => {
  // Checked once per frame (what a person could see), on textContent (no forced layout).
  window.__seen = {};
  const pending = new Set(wanted);
  const check = () => {
    const text = document.body.textContent;
    const now = performance.timeOrigin + performance.now();
    for (const name of [...pending]) {
      if (text.includes(name)) { window.__seen[name] = now; pending.delete(name); }
    }
    if (pending.size) requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
}
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def seed(session: aiohttp.ClientSession, base: str, agents: int, workspaces: int) -> None:
    sem = asyncio.Semaphore(32)

    async def call(path: str, body: dict[str, Any]) -> None:
        async with sem, session.post(base + path, json=body) as response:
            assert response.status < 300, await response.text()

    await call("/api/orchestrators", {"id": "bench-host", "baseDir": "/srv/bench"})
    await asyncio.gather(
        *[
            call(
                "/api/agents",
                {
                    "id": f"agent-{n:04d}",
                    "orchestratorId": "bench-host" if n % 2 else None,
                    "tags": ["bench"],
                    "meta": {"provider": "claude", "model": "opus"},
                },
            )
            for n in range(agents)
        ]
    )
    await asyncio.gather(
        *[
            call(
                "/api/workspaces",
                {
                    "id": f"ws-{n:04d}",
                    "repoRoot": f"/srv/bench/repo{n % 20}",
                    "worktreePath": f"/srv/bench/wt/{n}",
                    "branch": f"feat/b{n}",
                    "status": "ready",
                },
            )
            for n in range(workspaces)
        ]
    )


async def first_render(page: Page, base: str, route: str, selector: str) -> float:
    """A full page load of ``route`` (signed in) until ``selector`` shows."""
    await page.goto(f"{base}/#/{route}")
    started = time.perf_counter()
    await page.reload()
    await page.wait_for_selector(selector, timeout=30_000)
    return (time.perf_counter() - started) * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--workspaces", type=int, default=500)
    parser.add_argument("--changes", type=int, default=200)
    args = parser.parse_args()
    with relay_server({"RELAY_LOG_LEVEL": "WARNING"}) as server:
        async with aiohttp.ClientSession(headers=server.auth) as session:
            await seed(session, server.base, args.agents, args.workspaces)
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = await browser.new_page(viewport={"width": 1280, "height": 800})
                await page.goto(server.base + "/")
                await page.fill("#token", server.token)
                await page.click("button[type=submit]")
                await page.wait_for_selector(".live-live", timeout=30_000)
                count = f"text={args.agents} agents"
                fleet = [await first_render(page, server.base, "fleet", count) for _ in range(3)]
                await page.goto(server.base + "/#/orchestrators")
                workspaces = [
                    await first_render(page, server.base, "workspaces", ".group tbody tr")
                    for _ in range(3)
                ]
                await page.goto(server.base + "/#/fleet")
                await page.wait_for_selector(count)
                # Renamed agents sort first in their group, so each change lands in a visible row.
                names = [f"aa-change-{n:04d}" for n in range(args.changes)]
                await page.evaluate(WATCH, names)
                sent: dict[str, float] = {}
                for n, name in enumerate(names):
                    sent[name] = time.time() * 1000
                    path = f"/api/agents/agent-{n % args.agents:04d}"
                    async with session.patch(server.base + path, json={"name": name}) as response:
                        assert response.status == 200
                    await asyncio.sleep(0.02)  # pacing: 50 changes/s, a busy fleet
                deadline = time.monotonic() + 30
                seen: dict[str, float] = {}
                while time.monotonic() < deadline:
                    seen = await page.evaluate("window.__seen")
                    if len(seen) == len(names):
                        break
                    await asyncio.sleep(0.2)
                delays = [seen[name] - sent[name] for name in names if name in seen]
                await browser.close()
        async with aiohttp.ClientSession() as bare:
            started = time.perf_counter()
            for _ in range(500):
                async with bare.get(server.base + "/healthz") as response:
                    await response.read()
            healthz_rps = 500 / (time.perf_counter() - started)
    print(f"agents={args.agents} workspaces={args.workspaces} changes={args.changes}")
    print(f"first render Fleet ms: {', '.join(f'{v:.0f}' for v in fleet)} (target < 1000)")
    print(
        f"first render Workspaces ms: {', '.join(f'{v:.0f}' for v in workspaces)} (target < 1000)"
    )
    print(
        f"change visible: {len(delays)}/{len(names)} seen; p50={pct(delays, 0.5):.0f} ms "
        f"p99={pct(delays, 0.99):.0f} ms max={max(delays):.0f} ms (target p99 < 1000)"
    )
    print(f"bare /healthz sequential in the same run: {healthz_rps:.0f} req/s")


if __name__ == "__main__":
    asyncio.run(main())
