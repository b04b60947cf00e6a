"""Shared by the fleet and agent-page browser tests: seeding helpers, a second relay with quiet
timing (agents stay online, commands expire fast and only when a test runs the expiry job),
and screenshots at the two sizes the issue asks for."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from bench.common import relay_server
from tests.browser.conftest import ARTIFACTS, Relay

axe: Callable[[Page], None] | None
try:  # the shared axe helper (h-a11y's conftest); without it the pictures are still taken
    from tests.browser.conftest import axe  # type: ignore[attr-defined, no-redef, unused-ignore]
except ImportError:  # pragma: no cover - before that conftest is merged
    axe = None

SIZES = ((1440, 900), (390, 844))


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def shots(page: Page, name: str) -> None:
    """``<name>-1440x900`` and ``<name>-390x844`` (axe at each size where the helper exists),
    then the viewport the test had."""
    before = page.viewport_size
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            # The page re-lays out for the new width (cards below 760 px) before the picture.
            page.wait_for_function("() => document.scrollingElement.scrollWidth <= innerWidth")
            page.screenshot(path=str(ARTIFACTS / f"{name}-{width}x{height}.png"), full_page=True)
            if axe is not None:
                axe(page)
    finally:
        if before:
            page.set_viewport_size(before)


def orchestrator(relay: Relay, base_dir: str = "/srv/fleet") -> dict[str, Any]:
    orch_id = unique("host")
    reply: dict[str, Any] = relay.call(
        "POST",
        "/api/orchestrators",
        json={"id": orch_id, "name": orch_id, "host": f"{orch_id}.local", "baseDir": base_dir},
    )
    return dict(reply["orchestrator"])


def agent(relay: Relay, agent_id: str, **fields: Any) -> dict[str, Any]:
    card: dict[str, Any] = relay.call(
        "POST", "/api/agents", json={"id": agent_id, "name": agent_id, **fields}
    )
    return card


def managed_agent(
    relay: Relay, orch_id: str, agent_id: str, tags: list[str] | None = None, **meta: Any
) -> dict[str, Any]:
    """An agent a runner started under ``orch_id``: restart/shutdown go through it."""
    return agent(
        relay,
        agent_id,
        orchestratorId=orch_id,
        tags=tags or [],
        meta={"provider": "claude", "model": "opus", "runnerManaged": True, **meta},
    )


def wait_for(check: Any, what: str, timeout: float = 15) -> Any:
    """Poll an API-side condition (bounded): the server's state, not the page's."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


class QuietRelay(Relay):
    def __init__(self, url: str, log_path: Any, token: str) -> None:
        super().__init__(url, log_path)
        self.token = token
        self.http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )


@pytest.fixture(scope="module")
def quiet_relay(relay: Relay) -> Iterator[QuietRelay]:
    """Agents stay online for a minute; agent commands live 2 s and expire only when a test
    runs the command-expiry job. ``relay`` first: it skips where there is no browser."""
    env = {
        "RELAY_AGENT_STALE_SECONDS": "60",
        "RELAY_COMMAND_DEFAULT_TTL_SECONDS": "2",
        "RELAY_JOB_COMMAND_EXPIRY_SECONDS": "3600",
        "RELAY_LOG_LEVEL": "WARNING",
    }
    with relay_server(env) as server:
        quiet = QuietRelay(server.base, server.log_path, server.token)
        try:
            yield quiet
        finally:
            quiet.http.close()
