"""The fleet list in a real browser: live truth (registrations, presence, sign-out), the
overview and its filters in the URL, bulk actions, and the virtual list at scale."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, Route, expect

from tests.browser.conftest import ROOT, Relay, sign_in
from tests.browser.fleet_support import (
    QuietRelay,
    agent,
    managed_agent,
    orchestrator,
    quiet_relay,
    shots,
    unique,
    wait_for,
)

__all__ = ["quiet_relay"]  # the fixture, imported to be found


def rows(page: Page, text: str) -> Locator:
    return page.get_by_role("table", name="Agents").get_by_role("row").filter(has_text=text)


def test_ten_registered_agents_all_appear_live(page: Page, quiet_relay: QuietRelay) -> None:
    # On a relay where agents stay online for a minute: on the shared one they go stale after
    # 1 s, and that status event would carry a new card to the page even if registering
    # published nothing (how this defect hid from the first version of this test).
    prefix = unique("newcomer")
    sign_in(page, quiet_relay, quiet_relay.token)
    page.get_by_label("Search agents").fill(prefix)
    for n in range(10):
        agent(quiet_relay, f"{prefix}-{n}", tags=["new"])
    expect(rows(page, prefix)).to_have_count(10, timeout=5000)
    expect(page.get_by_role("status").filter(has_text="agents")).to_contain_text("10 of")


def test_last_seen_advances_with_heartbeats(page: Page, quiet_relay: QuietRelay) -> None:
    # Needs contract item 2 (presence frames): an online agent's heartbeat changes no status.
    agent_id = unique("beating")
    agent(quiet_relay, agent_id)
    sign_in(page, quiet_relay, quiet_relay.token)
    page.goto(f"{quiet_relay.url}/#/fleet?q={agent_id}")
    seen = rows(page, agent_id).locator("time")
    expect(seen).to_have_attribute("datetime", re.compile(".+"))
    first = seen.get_attribute("datetime")
    quiet_relay.call("POST", f"/api/agents/{agent_id}/heartbeat")
    expect(seen).not_to_have_attribute("datetime", first or "", timeout=5000)
    assert quiet_relay.call("GET", f"/api/agents/{agent_id}")["status"] == "online"


def test_overview_counts_filter_and_live_in_the_url(page: Page, relay: Relay) -> None:
    tag = unique("overview")
    first, second = orchestrator(relay), orchestrator(relay)
    for n in range(3):
        agent(relay, f"{tag}-a{n}", tags=[tag], orchestratorId=first["id"])
    agent(relay, f"{tag}-b0", tags=[tag], orchestratorId=second["id"])
    wait_for(
        lambda: all(
            a["status"] == "offline" for a in relay.call("GET", "/api/agents", params={"tag": tag})
        ),
        "the agents to go offline",
    )
    sign_in(page, relay)
    page.goto(f"{relay.url}/#/fleet?tag={tag}")
    overview = page.get_by_role("region", name="Fleet overview")
    by_status = overview.get_by_role("group", name="Agents by status")
    by_host = overview.get_by_role("group", name="Agents by host")
    expect(by_status.get_by_role("button", name="4 offline")).to_be_visible()
    expect(by_status.get_by_role("button", name="0 online")).to_be_visible()
    host_chip = by_host.get_by_role("button", name=f"3 {first['host']}")
    host_chip.click()
    expect(host_chip).to_have_attribute("aria-pressed", "true")
    expect(page).to_have_url(re.compile(f"host={first['id']}"))
    expect(rows(page, tag)).to_have_count(3)
    # The status counts follow the host filter.
    expect(by_status.get_by_role("button", name="3 offline")).to_be_visible()
    by_status.get_by_role("button", name="0 online").click()
    expect(page).to_have_url(re.compile("status=online"))
    expect(rows(page, tag)).to_have_count(0)
    # The view is a link: a fresh load of the URL shows the same filtered list.
    url = page.url.replace("status=online", "status=offline")
    page.goto(url)
    page.reload()
    expect(rows(page, tag)).to_have_count(3)
    expect(page.get_by_label("Filter by status")).to_have_value("offline")


def test_sorting_by_a_column_sets_aria_sort(page: Page, relay: Relay) -> None:
    tag = unique("sorted")
    for name in ("b", "a", "c"):
        agent(relay, f"{tag}-{name}", tags=[tag])
    sign_in(page, relay)
    page.goto(f"{relay.url}/#/fleet?tag={tag}")
    header = page.get_by_role("columnheader", name="Agent", exact=True)
    expect(header).to_have_attribute("aria-sort", "ascending")
    names = page.get_by_role("table", name="Agents").get_by_role("link")
    expect(names).to_have_text([f"{tag}-a", f"{tag}-b", f"{tag}-c"])
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(names).to_have_text([f"{tag}-c", f"{tag}-b", f"{tag}-a"])
    expect(page).to_have_url(re.compile("sort=name&dir=desc"))


def test_bulk_restart_confirms_with_the_count_and_summarises(page: Page, relay: Relay) -> None:
    tag = unique("bulk")
    orch = orchestrator(relay)
    managed_agent(relay, orch["id"], f"{tag}-m0", tags=[tag])
    managed_agent(relay, orch["id"], f"{tag}-m1", tags=[tag])
    agent(relay, f"{tag}-plain", tags=[tag])
    sign_in(page, relay)
    page.goto(f"{relay.url}/#/fleet?tag={tag}")
    expect(rows(page, tag)).to_have_count(3)
    page.get_by_label("Select all shown agents").check()
    bar = page.get_by_role("group", name="Selected agents")
    expect(bar).to_contain_text("3 selected")
    bar.get_by_role("button", name="Restart…").click()
    dialog = page.get_by_role("dialog", name="Restart 3 agents?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Restart 3 agents").click()
    expect(page.locator(".toast")).to_contain_text(
        "Restart: 2 queued, 1 refused: agent does not support restart (1)"
    )
    commands = relay.call("GET", f"/api/orchestrators/{orch['id']}/commands")
    assert sorted(c["params"]["agentId"] for c in commands if c["type"] == "agent.restart") == [
        f"{tag}-m0",
        f"{tag}-m1",
    ]


def test_a_large_fleet_renders_only_the_rows_in_view(page: Page, relay: Relay) -> None:
    tag = unique("many")
    for n in range(300):
        agent(relay, f"{tag}-{n:03d}", tags=[tag])
    sign_in(page, relay)
    page.goto(f"{relay.url}/#/fleet?tag={tag}")
    expect(page.get_by_role("status").filter(has_text="agents")).to_contain_text("300 of")
    table = page.get_by_role("table", name="Agents")
    expect(table).to_have_attribute("aria-rowcount", "301")
    rendered = table.get_by_role("row").count()
    assert 2 <= rendered <= 60, rendered
    shots(page, "fleet")


def test_a_revoked_token_signs_the_page_out(page: Page, relay: Relay) -> None:
    # Needs contract item 3 (the stream's `signed-out` event, sent promptly on revocation).
    issued = relay.call(
        "POST",
        "/api/tokens",
        json={
            "sub": unique("viewer"),
            "profile": "dashboard",
            "scope": ["agent:read", "activity:read"],
        },
    )
    sign_in(page, relay, issued["token"])
    relay.call("DELETE", f"/api/tokens/{issued['record']['jti']}")
    expect(page.locator(".signin .error")).to_have_text("Signed out: token revoked", timeout=5000)


def test_the_streams_signed_out_event_signs_the_page_out(page: Page, relay: Relay) -> None:
    """The page's half of contract item 3, whatever the server does: a stream that says
    `signed-out` ends the session, with the reason on the sign-in form, and is not reopened."""
    opened: list[str] = []

    def stream(route: Route) -> None:
        opened.append(route.request.url)
        route.fulfill(
            status=200,
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"},
            body='event: signed-out\ndata: {"reason": "token expired"}\n\n',
        )

    page.route("**/api/events?*", stream)
    page.goto(relay.url + "/")
    page.fill("#token", ROOT)
    page.click("button[type=submit]")
    expect(page.locator(".signin .error")).to_have_text("Signed out: token expired")
    expect(page.locator("#token")).to_be_visible()
    assert len(opened) == 1, opened
