"""The dashboard follows the active relay: on a page whose relay turned standby, the next
failing request makes it ask that relay, move to the active (route kept, still signed in,
the handed-over token gone from the URL at once) and say so in a banner.

The standby is a fake: the page first runs on ``http://localhost:PORT`` (another origin of
the test's relay), passed through while it is "active"; then the test answers for it as a
standby does (``/readyz`` 503 ``standby``, ``/api/cluster``, 307 for everything else).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, expect
from playwright.sync_api import Error as PlaywrightError

from tests.browser.conftest import ROOT, Relay, screenshot


class FakeStandby:
    def __init__(self, origin: str, active: str) -> None:
        self.origin = origin
        self.active = active
        self.standby = False
        self.asked: list[str] = []

    def handle(self, route: Route) -> None:
        if not self.standby:
            route.continue_()
            return
        parts = urlsplit(route.request.url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        self.asked.append(parts.path)
        if parts.path == "/readyz":
            body: dict[str, Any] = {"status": "standby", "active": self.active, "epoch": 2}
            route.fulfill(status=503, json=body, headers={"Retry-After": "1"})
        elif parts.path == "/api/cluster":
            route.fulfill(status=200, json=self.cluster())
        else:
            route.fulfill(
                status=307,
                headers={"Location": self.active + target, "Content-Type": "application/json"},
                body=json.dumps({"error": "this relay is a standby", "active": self.active}),
            )

    def cluster(self) -> dict[str, Any]:
        return {
            "self": {"id": "b", "url": self.origin, "role": "standby"},
            "active": {"id": "a", "url": self.active, "since": "2026-01-01T00:00:00Z"},
            "standbys": [{"id": "b", "url": self.origin, "seenAt": "2026-01-01T00:00:00Z"}],
            "epoch": 2,
            "changedAt": "2026-01-01T00:00:00Z",
        }


@pytest.fixture
def two_origins(browser: Browser, relay: Relay) -> Iterator[tuple[Page, FakeStandby]]:
    port = urlsplit(relay.url).port
    standby = FakeStandby(f"http://localhost:{port}", relay.url)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.route(f"{standby.origin}/**", standby.handle)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page, standby
    context.close()
    assert errors == [], errors


def test_the_dashboard_moves_to_the_active_when_its_relay_turns_standby(
    two_origins: tuple[Page, FakeStandby], relay: Relay
) -> None:
    page, standby = two_origins
    page.goto(standby.origin + "/")
    page.fill("#token", ROOT)
    page.click("button[type=submit]")
    page.wait_for_selector(".live-live", timeout=10_000)
    page.click("nav a[href='#/commands']")

    standby.standby = True  # this relay lost the election; the active is another origin
    # The next page's request fails (307 to another origin). The live commands page may
    # fail first and move the page before this runs: then it is on the active already,
    # asking whether the handed-over sign-in is the user's, and has no menu to click.
    with contextlib.suppress(PlaywrightError):
        page.evaluate("location.hash = '#/orchestrators'")

    # A handed-over sign-in is used once the user says it is theirs, naming whose it is.
    page.get_by_role("button", name="Continue as root").click(timeout=15_000)
    expect(page.locator(".banner.moved")).to_contain_text(
        f"relay moved to {relay.url}", timeout=15_000
    )
    # The route kept, the token gone. Which route: the click's request may fail first, or
    # the commands page's own stream or refresh may (it is live), so either page the user
    # was on when the relay turned standby.
    assert page.url in (f"{relay.url}/#/orchestrators", f"{relay.url}/#/commands")
    assert "relay-handover" not in page.evaluate("history.state ?? ''") + page.url
    expect(page.locator("#token")).to_have_count(0)  # still signed in
    page.wait_for_selector(".live-live", timeout=10_000)
    assert page.evaluate("sessionStorage.getItem('relay.token')") == ROOT
    assert "/readyz" in standby.asked
    screenshot(page, "failover-moved")
    page.click(".banner.moved .dismiss")
    expect(page.locator(".banner.moved")).to_have_count(0)


def test_a_dashboard_on_a_serving_relay_stays(page: Page, relay: Relay) -> None:
    """A drop of the stream on the active itself: /readyz says 200, the page stays."""
    page.goto(relay.url + "/")
    page.fill("#token", ROOT)
    page.click("button[type=submit]")
    page.wait_for_selector(".live-live", timeout=10_000)
    page.evaluate("import('/static/failover.js').then((m) => m.checkRelay())")
    page.wait_for_load_state("networkidle")
    assert page.url.startswith(relay.url)
    expect(page.locator(".banner.moved")).to_have_count(0)


def test_a_handover_link_never_signs_the_page_in_by_itself(
    two_origins: tuple[Page, FakeStandby], relay: Relay
) -> None:
    """Anyone may write a handover link with a token of theirs: the page names whose token
    it is and waits for a yes; "another token" drops it; a tab signed in keeps its own."""
    page, _standby = two_origins
    minted = relay.call("POST", "/api/tokens", json={"sub": "mallory", "profile": "dashboard"})
    url = f"{relay.url}/#relay-handover={minted['token']}&route=%23/memory&from=http://elsewhere"
    page.goto(url)
    expect(page.get_by_role("button", name="Continue as mallory")).to_be_visible(timeout=10_000)
    assert "relay-handover" not in page.url
    assert page.evaluate("sessionStorage.getItem('relay.token')") is None
    page.get_by_role("button", name="Sign in with another token").click()
    expect(page.locator("#token")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('relay.token')") is None
    # Signed in here, a later handover link leaves the page's own sign-in as it is.
    page.fill("#token", ROOT)
    page.click("button[type=submit]")
    page.wait_for_selector(".live-live", timeout=10_000)
    page.goto(f"{relay.url}/#relay-handover=someone-elses&route=%23/fleet")
    page.reload()
    page.wait_for_selector(".live-live", timeout=10_000)
    assert page.evaluate("sessionStorage.getItem('relay.token')") == ROOT
