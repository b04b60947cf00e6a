"""Every page, at a laptop's and a phone's size: axe-core finds nothing, nothing sticks out
sideways, and a screenshot of each lands in artifacts/screenshots/. Plus the shell's keyboard
rules: dialogs hand focus back, Esc closes, tabs follow the arrow keys, the phone bar is compact.
"""

from __future__ import annotations

import contextlib
import re
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, ViewportSize, expect

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    ROOT,
    VIEWPORTS,
    Relay,
    axe,
    overflow,
    screenshot,
    sign_in,
    size_name,
)

# The pages in the nav, for the root token (which sees them all).
PAGES = [
    "fleet",
    "orchestrators",
    "workspaces",
    "commands",
    "tasks",
    "pairs",
    "integrations",
    "automations",
    "memory",
    "activity",
    "config",
    "tokens",
    "maintenance",
]

# Every status a badge can show (agents, orchestrators, commands, workspaces, tasks, pairs,
# automation dispatches).
STATUSES = [
    "online", "stale", "offline", "queued", "delivered", "running", "succeeded", "failed",
    "expired", "cancelled", "active", "ready", "conflict", "review_requested", "merge_planned",
    "merged", "abandoned", "cleanup_requested", "cleaned",
    "submitted", "assigned", "working", "input_required", "needs_human", "completed", "canceled",
    "rejected", "forming", "awaiting_review", "aborted", "skipped",
]  # fmt: skip


class Beats:
    """Heartbeats from a thread: the browser server marks an agent stale after 1 s of silence and
    offline after 2 s, so 'online' agents beat every 0.3 s and the 'stale' one every 1.5 s.
    The orchestrator beats every 0.3 s too: one beat before the views open left it stale by
    the time a loaded machine reached the Spawn dialog (which needs it online)."""

    def __init__(self, relay: Relay, online: list[str], stale: str, orchestrator: str) -> None:
        self.http = httpx.Client(
            base_url=relay.url, headers={"Authorization": f"Bearer {ROOT}"}, timeout=5
        )
        self.online = online
        self.stale = stale
        self.orchestrator = orchestrator
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        tick = 0
        while not self.stop.wait(0.3):
            tick += 1
            ids = self.online + ([self.stale] if tick % 5 == 0 else [])
            for agent_id in ids:
                # A missed beat only ages the card; the next one retries.
                with contextlib.suppress(httpx.HTTPError):
                    self.http.post(f"/api/agents/{agent_id}/heartbeat", json={})
            with contextlib.suppress(httpx.HTTPError):
                self.http.post(f"/api/orchestrators/{self.orchestrator}/heartbeat", json={})

    def __enter__(self) -> Beats:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.http.close()


@pytest.fixture(scope="module")
def seeded(relay: Relay) -> Iterator[dict[str, Any]]:
    """An orchestrator, agents (online, stale, offline), workspaces in several statuses, a held
    merge lease, a command, a token: so no page is an empty state."""
    tag = uuid.uuid4().hex[:6]
    base = f"/srv/a11y-{tag}"
    orch_id = f"a11y-host-{tag}"
    relay.call(
        "POST",
        "/api/orchestrators",
        json={"id": orch_id, "name": orch_id, "host": f"{orch_id}.local", "baseDir": base},
    )
    agents = [f"a11y-{tag}-{n}" for n in range(5)]
    for n, agent_id in enumerate(agents):
        relay.call(
            "POST",
            "/api/agents",
            json={
                "id": agent_id,
                "name": f"worker {n}",
                "orchestratorId": orch_id if n < 4 else None,
                "tags": ["a11y", f"team-{n % 2}"],
                "meta": {"provider": "claude", "model": "opus", "cwd": f"{base}/repo"},
            },
        )
    for n, status in enumerate(["active", "ready", "conflict", "review_requested", "merged"]):
        relay.call(
            "POST",
            "/api/workspaces",
            json={
                "id": f"ws-{tag}-{n}",
                "agentId": agents[n % 3],
                "orchestratorId": orch_id,
                "repoRoot": f"{base}/repo",
                "sourceCwd": f"{base}/repo",
                "worktreePath": f"{base}/wt/{n}",
                "branch": f"feat/a11y-{n}",
                "status": status,
            },
        )
    # A merge takes the repo's lease and queues a command to the (online) orchestrator.
    relay.call("POST", f"/api/orchestrators/{orch_id}/heartbeat", json={})
    relay.call("POST", f"/api/workspaces/ws-{tag}-1/actions", json={"action": "merge"})
    relay.call(
        "POST",
        "/api/tokens",
        json={"sub": f"viewer-{tag}", "role": "viewer", "scope": ["agent:read"]},
    )
    with Beats(relay, online=agents[:2], stale=agents[2], orchestrator=orch_id):
        yield {"orchestrator": orch_id, "agents": agents, "tag": tag}


def open_page(page: Page, name: str) -> None:
    page.goto(f"{page.url.split('#')[0]}#/{name}")
    expect(page.locator("nav a[aria-current=page]")).to_have_attribute(
        "href", f"#/{name}", timeout=10_000
    )
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=size_name)
def test_every_page_passes_axe_and_fits(
    page: Page, relay: Relay, seeded: dict[str, Any], viewport: ViewportSize
) -> None:
    page.set_viewport_size(viewport)
    page.goto(relay.url + "/")
    expect(page.locator("#token")).to_be_visible()
    axe(page)
    assert overflow(page) <= 0, "the sign-in form scrolls sideways"
    screenshot(page, "signin", (viewport,))
    sign_in(page, relay)
    failures: list[str] = []
    for name in PAGES:
        open_page(page, name)
        screenshot(page, f"a11y-{name}", (viewport,))
        extra = overflow(page)
        if extra > 0:
            failures.append(f"{name}: the page scrolls {extra}px sideways")
        try:
            axe(page)
        except AssertionError as error:
            failures.append(f"{name}: {error}")
    assert not failures, "\n\n".join(failures)


def test_status_badges_have_contrast(page: Page, relay: Relay) -> None:
    sign_in(page, relay)
    page.evaluate(
        """(statuses) => {
          const box = document.createElement("div");
          box.id = "badges";
          for (const s of statuses) {
            const badge = document.createElement("span");
            badge.className = `badge status-${s}`;
            badge.textContent = s;
            box.append(badge);
          }
          document.getElementById("main").append(box);
        }""",
        STATUSES,
    )
    axe(page, "#badges")


def test_phone_bar_is_compact_and_its_menu_reaches_every_page(page: Page, relay: Relay) -> None:
    page.set_viewport_size(PHONE)
    sign_in(page, relay)
    bar = page.locator("header.top")
    box = bar.bounding_box()
    assert box is not None
    assert box["height"] <= 56, box
    toggle = page.locator(".menu-toggle")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.locator("nav a[href='#/tokens']")).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("button.signout")).to_be_visible()
    page.click("nav a[href='#/tokens']")
    expect(page.locator("nav a[aria-current=page]")).to_have_attribute("href", "#/tokens")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    # Esc closes the menu and leaves focus on its toggle.
    toggle.click()
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    # A tap outside the bar closes it too.
    toggle.click()
    expect(page.locator("button.signout")).to_be_visible()
    page.mouse.click(200, 780)
    expect(toggle).to_have_attribute("aria-expanded", "false")
    page.set_viewport_size(DESKTOP)
    expect(toggle).to_be_hidden()
    expect(page.locator("nav a[href='#/fleet']")).to_be_visible()


def test_dialog_closes_on_escape_and_returns_focus(page: Page, relay: Relay) -> None:
    sign_in(page, relay)
    page.click("nav a[href='#/tokens']")
    opener = page.get_by_role("button", name=re.compile(r"^Issue"))
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    axe(page)
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(opener).to_be_focused()
    # The Close button closes it too, and focus comes back just the same.
    opener.click()
    page.locator("dialog[open] button[aria-label=Close]").click()
    expect(page.locator("dialog[open]")).to_have_count(0)
    expect(opener).to_be_focused()


def test_tabs_follow_arrow_keys(page: Page, relay: Relay) -> None:
    """The Tabs component (ui.js), mounted on its own so the test does not depend on a page."""
    sign_in(page, relay)
    page.evaluate(
        """async () => {
          const { html, render, useState } = await import("/static/html.js");
          const { Tabs } = await import("/static/ui.js");
          const tabs = [
            { id: "a", title: "Alpha" }, { id: "b", title: "Beta" }, { id: "c", title: "Gamma" },
          ];
          function Demo() {
            const [selected, setSelected] = useState("a");
            return html`<${Tabs} id="demo" label="Demo" tabs=${tabs} selected=${selected}
              onSelect=${setSelected}><p>Panel ${selected}</p><//>`;
          }
          const host = document.createElement("div");
          host.id = "tabs-demo";
          document.getElementById("main").append(host);
          render(html`<${Demo} />`, host);
        }"""
    )
    tabs = page.locator("#tabs-demo [role=tab]")
    expect(tabs).to_have_count(3)
    tabs.nth(0).focus()
    page.keyboard.press("ArrowRight")
    expect(tabs.nth(1)).to_be_focused()
    expect(tabs.nth(1)).to_have_attribute("aria-selected", "true")
    expect(page.locator("#tabs-demo [role=tabpanel]")).to_have_text("Panel b")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(tabs.nth(2)).to_be_focused()
    page.keyboard.press("Home")
    expect(tabs.nth(0)).to_have_attribute("aria-selected", "true")
    expect(tabs.nth(0)).to_have_attribute("tabindex", "0")
    expect(tabs.nth(2)).to_have_attribute("tabindex", "-1")
    axe(page, "#tabs-demo")


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=size_name)
def test_opened_views_pass_axe_and_fit(
    page: Page, relay: Relay, seeded: dict[str, Any], viewport: ViewportSize
) -> None:
    """What a click opens (an agent's view, a command's detail, the Spawn dialog, each config
    tab) passes axe too, and on a phone it opens where the operator is looking."""
    page.set_viewport_size(viewport)
    sign_in(page, relay)
    size = size_name(viewport)
    failures: list[str] = []

    def check(name: str, shown: Locator) -> None:
        expect(shown).to_be_visible()
        box = shown.bounding_box()
        if box is None or box["y"] >= viewport["height"] or box["y"] + box["height"] <= 0:
            failures.append(f"{name}: opened outside the viewport at {box}")
        screenshot(page, f"a11y-{name}", (viewport,))
        if overflow(page) > 0:
            failures.append(f"{name}: the page scrolls {overflow(page)}px sideways")
        try:
            axe(page)
        except AssertionError as error:
            failures.append(f"{name}: {error}")

    open_page(page, "fleet")
    # The list draws only the rows in view: narrow it, so agents other tests registered
    # (which may sort first) cannot push this one out of the page.
    page.get_by_label("Search agents").fill("worker 0")
    page.get_by_role("link", name="worker 0", exact=True).click()
    check("fleet-agent", page.get_by_role("heading", name="worker 0"))

    open_page(page, "commands")
    page.locator("tbody button.link").first.click()
    check("commands-detail", page.locator("aside.panel, .sheet").first)

    open_page(page, "orchestrators")
    page.get_by_role("button", name=re.compile(r"^Spawn")).first.click()
    check("orchestrators-spawn", page.locator("dialog[open]"))
    page.keyboard.press("Escape")
    expect(page.locator("dialog[open]")).to_have_count(0)

    open_page(page, "config")
    for tab in page.get_by_role("tab").all():
        tab.click()
        label = re.sub(r"\W+", "-", tab.inner_text().strip().lower())
        check(f"config-{label}", page.get_by_role("tab", selected=True))
    assert not failures, f"at {size}:\n\n" + "\n\n".join(failures)
