"""Browser tests: a real ``relay serve`` on 127.0.0.1 and Debian's Chromium driven by Playwright.

Skipped, with the reason, where Chromium or Playwright is not installed (``.ci/run``
installs both). Screenshots of every page land in ``artifacts/screenshots/``, each at a
laptop's and a phone's size; ``axe(page)`` fails a test on any axe-core violation.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = "browser-root-token"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

# The sizes every page is shown (and screenshotted) at: a laptop and a phone.
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
VIEWPORTS = (DESKTOP, PHONE)

sync_playwright: Callable[[], AbstractContextManager[Playwright]] | None
try:
    from playwright.sync_api import Browser, Page, Playwright, ViewportSize, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

try:
    from axe_playwright_python.sync_playwright import Axe
except ImportError:  # pragma: no cover - depends on the machine
    Axe = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Relay:
    def __init__(self, url: str, log_path: Path) -> None:
        self.url = url
        self.log_path = log_path
        self.http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {ROOT}"}, timeout=10
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        assert response.status_code < 300, (
            method,
            path,
            response.status_code,
            response.text,
            self.log_tail(),
        )
        return response.json()

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the server's log: what a failing call needs to be understood."""
        return self.log_path.read_text(errors="replace")[-chars:]


@pytest.fixture(scope="session")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    if sync_playwright is None:
        pytest.skip("playwright is not installed (pip install playwright)")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    port = _free_port()
    data_dir = tmp_path_factory.mktemp("relay-browser")
    env = {
        **os.environ,
        "RELAY_ROOT_TOKEN": ROOT,
        "RELAY_AGENT_STALE_SECONDS": "1",
        "RELAY_AGENT_OFFLINE_SECONDS": "2",
        "RELAY_JOB_AGENT_REAPER_SECONDS": "0.5",
        "RELAY_LOG_LEVEL": "WARNING",
    }
    log_path = data_dir.parent / "relay.log"
    # A file, not a pipe: nobody reads a pipe while the tests run, and a full one would
    # block the server's logging.
    with log_path.open("wb") as log:
        server = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            [
                sys.executable,
                "-m",
                "relay",
                "serve",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise RuntimeError(f"relay did not start: {log_path.read_text(errors='replace')}")
        time.sleep(0.1)
    relay = Relay(url, log_path)
    try:
        yield relay
    finally:
        relay.http.close()
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture(scope="session")
def browser(relay: Relay) -> Iterator[Browser]:
    assert sync_playwright is not None
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], errors


def sign_in(page: Page, relay: Relay, token: str = ROOT) -> None:
    page.goto(relay.url + "/")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector(".live-live", timeout=10_000)


def size_name(viewport: ViewportSize) -> str:
    return f"{viewport['width']}x{viewport['height']}"


def screenshot(page: Page, name: str, viewports: tuple[ViewportSize, ...] = VIEWPORTS) -> None:
    """``<name>-1440x900.png`` and ``<name>-390x844.png``; the page's viewport is restored."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    try:
        for viewport in viewports:
            page.set_viewport_size(viewport)
            page.screenshot(
                path=str(ARTIFACTS / f"{name}-{size_name(viewport)}.png"), full_page=True
            )
    finally:
        if before is not None:
            page.set_viewport_size(before)


def axe(page: Page, context: str | None = None) -> None:
    """Run axe-core on the page (or the ``context`` selector): zero violations, else each one's
    rule id, targets and summary in the failure."""
    if Axe is None:
        pytest.skip("axe-playwright-python is not installed (pip install -e '.[test]')")
    results = Axe().run(page, context=context)
    violations: list[dict[str, Any]] = results.response["violations"]
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            summary = " ".join(str(node.get("failureSummary") or "").split())
            lines.append(f"    {node['target']}: {summary}")
    assert not violations, f"axe on {page.url}:\n" + "\n".join(lines)


def overflow(page: Page) -> int:
    """How far the page scrolls sideways (0 when nothing sticks out of the viewport)."""
    extra: int = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    return extra
