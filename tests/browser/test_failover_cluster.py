"""The dashboard follows the active relay with no load balancer in front: two real
``relay serve`` processes on one PostgreSQL database, each on its own origin. The page is on
the active; the active is killed (``kill -9``: it answers nothing more); the standby takes
over and the page, by itself, asks it who is active across origins (its CSP lets it
connect to the members, their CORS lets it read ``/readyz``) and moves there, signed in.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ROOT, Relay, _free_port, screenshot
from tests.test_cli import relay_env
from tests.test_cli_elected import ELECTION, fresh_database  # noqa: F401 - a fixture

DEADLINE = 30.0  # bound on every wait below; each normally ends within a few seconds


class Member(Relay):
    def __init__(self, url: str, log_path: Path, process: subprocess.Popen[bytes]) -> None:
        super().__init__(url, log_path)
        self.process = process

    def ready(self) -> int | None:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=1).status_code
        except httpx.HTTPError:
            return None


def until(condition: Callable[[], bool], what: str, members: list[Member]) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    logs = "\n".join(member.log_tail(2000) for member in members)
    pytest.fail(f"not within {DEADLINE} s: {what}\n{logs}")


def start_member(name: str, tmp_path: Path, env: dict[str, str]) -> Member:
    port = _free_port()
    log_path = tmp_path / f"relay-{name}.log"
    command = [sys.executable, "-m", "relay", "serve", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            [*command, "--data-dir", str(tmp_path / name)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    return Member(f"http://127.0.0.1:{port}", log_path, process)


@pytest.fixture
def cluster(tmp_path: Path, fresh_database: str) -> Iterator[tuple[Member, Member]]:  # noqa: F811
    """An active relay and a standby (started in that order), no load balancer."""
    env = relay_env(
        RELAY_DATABASE_URL=fresh_database,
        RELAY_ROOT_TOKEN=ROOT,
        RELAY_SECRET="browser-cluster-secret-0123456789abcdef",
        RELAY_LOG_LEVEL="INFO",
        **ELECTION,
    )
    members: list[Member] = []
    try:
        for name in ("a", "b"):
            members.append(start_member(name, tmp_path, env))
            expected = 200 if name == "a" else 503

            def serving(want: int = expected) -> bool:
                return members[-1].ready() == want

            until(serving, f"relay {name} serving", members)
        active, standby = members
        until(
            lambda: standby.url in str(active.call("GET", "/api/cluster")["standbys"]),
            "the active lists the standby",
            members,
        )
        yield active, standby
    finally:
        for member in members:
            member.http.close()
            if member.process.poll() is None:
                member.process.kill()
            member.process.wait(20)


@pytest.fixture
def cluster_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], errors


def test_the_dashboard_finds_the_new_active_without_a_load_balancer(
    cluster: tuple[Member, Member], cluster_page: Page
) -> None:
    active, standby = cluster
    page = cluster_page
    served = page.goto(active.url + "/")
    assert served is not None
    members = " ".join(sorted((active.url, standby.url)))  # the relay lists them sorted
    assert f"connect-src 'self' {members};" in served.headers["content-security-policy"]
    page.fill("#token", ROOT)
    page.click("button[type=submit]")
    page.wait_for_selector(".live-live", timeout=10_000)
    page.click("nav a[href='#/orchestrators']")
    # The page learned the cluster (both members) while all was well.
    page.wait_for_function("(sessionStorage.getItem('relay.cluster.urls') ?? '').includes(',')")

    active.process.kill()  # no SIGTERM, no lease released: the standby waits out the lease
    active.process.wait(20)
    until(lambda: standby.ready() == 200, "the standby takes over", [active, standby])

    # A handed-over sign-in is used once the user says it is theirs, naming whose it is.
    page.get_by_role("button", name="Continue as root").click(timeout=int(DEADLINE * 1000))
    expect(page.locator(".banner.moved")).to_contain_text(
        f"relay moved to {standby.url}", timeout=int(DEADLINE * 1000)
    )
    assert page.url == f"{standby.url}/#/orchestrators"
    assert "relay-handover" not in page.url
    expect(page.locator("#token")).to_have_count(0)  # still signed in
    page.wait_for_selector(".live-live", timeout=10_000)
    assert page.evaluate("sessionStorage.getItem('relay.token')") == ROOT
    screenshot(page, "failover-no-load-balancer")
