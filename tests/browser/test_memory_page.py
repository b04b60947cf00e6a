"""The Memory page (#/memory): memories appear live, search and filters, editing under the
version (a stale one shows the server's conflict and reloads), quarantine and lift, the
broker preview with pinned memories first, write actions and the page hidden by scope; axe
and screenshots at both sizes."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import Relay, sign_in
from tests.browser.fleet_support import agent, shots
from tests.browser.fleet_support import unique as unique_id


def unique(prefix: str) -> str:
    """Names that sort after test_a11y's "worker N" agents (its phone-sized Fleet list is
    virtual and clicks "worker 0")."""
    return unique_id(f"xmem-{prefix}")


def remember(relay: Relay, title: str, **fields: Any) -> dict[str, Any]:
    body = {"scope": "global", "type": "project", "title": title, "body": f"{title} body"}
    created: dict[str, Any] = relay.call("POST", "/api/memory", json={**body, **fields})
    return created


def open_memory(page: Page, relay: Relay, token: str | None = None) -> None:
    if token is None:
        sign_in(page, relay)
    else:
        sign_in(page, relay, token)
    page.evaluate("() => { location.hash = '#/memory'; }")
    expect(page.locator("nav a[aria-current=page]")).to_have_attribute("href", "#/memory")


def search(page: Page, **fields: str) -> None:
    form = page.get_by_role("search", name="Search memories")
    if "q" in fields:
        form.get_by_label("Search text").fill(fields["q"])
    if "type" in fields:
        form.get_by_label("Type").select_option(fields["type"])
    if "scope" in fields:
        form.get_by_label("Scope").select_option(fields["scope"])
    if "tags" in fields:
        form.get_by_label("Tags").fill(fields["tags"])
    form.get_by_role("button", name="Search").click()


def row(page: Page, memory_id: str) -> Locator:
    return page.locator(f"tr[data-memory='{memory_id}']")


def open_detail(page: Page, memory: dict[str, Any]) -> Locator:
    row(page, memory["id"]).get_by_role("button", name="Open").click()
    detail = page.get_by_role("complementary", name=f"Memory {memory['id']}")
    expect(detail.locator("[data-version]")).to_have_text(str(memory["version"]))
    return detail


def test_a_memory_created_through_the_api_appears_live(page: Page, relay: Relay) -> None:
    tag = unique("live")
    open_memory(page, relay)
    search(page, tags=tag)
    expect(page.locator(".empty")).to_contain_text("No memories match")
    created = remember(relay, "appears live", tags=[tag], confidence="high")
    line = row(page, created["id"])
    expect(line).to_contain_text("appears live", timeout=5000)
    expect(line).to_contain_text(tag)
    expect(line).to_contain_text("high")
    expect(line.locator(".badge.redaction-clean")).to_have_text("clean")
    expect(line.locator(".serve-count")).to_have_text("0")
    # Changed elsewhere: the row and an open, unedited detail follow.
    detail = open_detail(page, created)
    relay.http.patch(
        f"/api/memory/{created['id']}", json={"title": "renamed"}, headers={"If-Match": '"1"'}
    ).raise_for_status()
    expect(line).to_contain_text("renamed", timeout=5000)
    expect(detail.get_by_label("Title")).to_have_value("renamed", timeout=5000)
    expect(detail.locator("[data-version]")).to_have_text("2")
    # Deleted elsewhere: it leaves the list too.
    relay.call("DELETE", f"/api/memory/{created['id']}")
    expect(line).to_have_count(0, timeout=5000)


def test_search_and_filters_narrow_the_list(page: Page, relay: Relay) -> None:
    tag = unique("filter")
    wanted = remember(relay, "the zebra runbook", type="reference", tags=[tag, "ops"])
    other_type = remember(relay, "a zebra feedback", type="feedback", tags=[tag, "ops"])
    other_tag = remember(relay, "zebra without ops", type="reference", tags=[tag])
    secret = remember(relay, "zebra secret", type="reference", tags=[tag], sensitivity="secret")
    open_memory(page, relay)
    search(page, tags=tag)
    for m in (wanted, other_type, other_tag, secret):
        expect(row(page, m["id"])).to_be_visible()
    search(page, q="ZEBRA", type="reference", tags=f"{tag} ops")
    expect(row(page, wanted["id"])).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(1)
    search(page, q="runbook nothing-like-this", type="", tags=tag)
    expect(page.locator(".empty")).to_contain_text("No memories match")
    search(page, q="", scope="global", tags=tag)
    expect(page.locator("tbody tr")).to_have_count(4)


def test_load_more_follows_the_cursor(page: Page, relay: Relay) -> None:
    tag = unique("many")
    for n in range(52):
        remember(relay, f"bulk {n}", tags=[tag])
    open_memory(page, relay)
    search(page, tags=tag)
    expect(page.locator("tbody tr")).to_have_count(50)
    page.get_by_role("button", name="Load more").click()
    expect(page.locator("tbody tr")).to_have_count(52)
    expect(page.get_by_role("button", name="Load more")).to_have_count(0)


def test_a_stale_edit_shows_the_conflict_and_reload_recovers(page: Page, relay: Relay) -> None:
    tag = unique("conflict")
    created = remember(relay, "before", tags=[tag])
    open_memory(page, relay)
    search(page, tags=tag)
    detail = open_detail(page, created)
    # Someone else saves version 2 while the page edits version 1: the page says so, and
    # keeps the edit on the version it was based on.
    detail.get_by_label("Title").fill("mine")
    relay.http.patch(
        f"/api/memory/{created['id']}", json={"title": "theirs"}, headers={"If-Match": '"1"'}
    ).raise_for_status()
    expect(detail).to_contain_text("A newer version (2) exists.", timeout=5000)
    expect(detail.get_by_label("Title")).to_have_value("mine")
    detail.get_by_role("button", name="Save").click()
    expect(detail.get_by_role("alert")).to_have_text("version conflict: current version is 2")
    assert relay.call("GET", f"/api/memory/{created['id']}")["title"] == "theirs"
    detail.get_by_role("button", name="Reload the current version").click()
    expect(detail.get_by_label("Title")).to_have_value("theirs")
    expect(detail.locator("[data-version]")).to_have_text("2")
    expect(detail.get_by_role("alert")).to_have_count(0)
    detail.get_by_label("Title").fill("mine after all")
    detail.get_by_role("button", name="Save").click()
    expect(detail.get_by_role("status")).to_have_text("Saved version 3.")
    stored = relay.call("GET", f"/api/memory/{created['id']}")
    assert (stored["title"], stored["version"]) == ("mine after all", 3)
    expect(row(page, created["id"])).to_contain_text("mine after all", timeout=5000)


def test_delete_carries_the_version(page: Page, relay: Relay) -> None:
    tag = unique("delete")
    created = remember(relay, "to delete", tags=[tag])
    open_memory(page, relay)
    search(page, tags=tag)
    detail = open_detail(page, created)
    detail.get_by_role("button", name="Delete").click()
    page.locator("dialog[open]").get_by_role("button", name="Delete").click()
    expect(row(page, created["id"])).to_have_count(0, timeout=5000)
    assert relay.http.get(f"/api/memory/{created['id']}").status_code == 404


def test_an_operator_quarantines_and_lifts(page: Page, relay: Relay) -> None:
    tag = unique("quarantine")
    created = remember(relay, "suspicious", tags=[tag])
    open_memory(page, relay)
    search(page, tags=tag)
    detail = open_detail(page, created)
    detail.get_by_role("button", name="Quarantine").click()
    expect(detail.locator(".badge.redaction-blocked")).to_have_text("blocked")
    expect(row(page, created["id"]).locator(".badge")).to_have_text("blocked", timeout=5000)
    assert relay.call("GET", f"/api/memory/{created['id']}")["redactionState"] == "blocked"
    detail.get_by_role("button", name="Lift quarantine").click()
    expect(detail.locator(".badge.redaction-clean")).to_have_text("clean")
    assert relay.call("GET", f"/api/memory/{created['id']}")["redactionState"] == "clean"


def test_preview_context_serves_pinned_first_and_counts_it(page: Page, relay: Relay) -> None:
    pin = unique("pin")
    agent_id = unique("agent")
    agent(relay, agent_id, tags=[f"memory-reload:{pin}"])
    pinned = remember(
        relay, "pinned one", scope="agent", scopeKey=agent_id, tags=[pin], confidence="low"
    )
    other = remember(
        relay, "mine too", scope="agent", scopeKey=agent_id, type="user", confidence="high"
    )
    open_memory(page, relay)
    page.get_by_role("tab", name="Preview context").click()
    expect(page.locator("#preview-note")).to_contain_text("real serving")
    page.get_by_label("Agent").select_option(agent_id)
    page.get_by_role("button", name="Preview context").click()
    result = page.get_by_role("region", name="Broker context")
    served = result.locator("ol.served > li")
    expect(served.first).to_have_attribute("data-memory", pinned["id"])
    expect(served.first.locator(".badge.pinned")).to_have_text("pinned")
    expect(result.locator(f"li[data-memory='{other['id']}'] .badge.pinned")).to_have_count(0)
    chars = int(result.locator(".chars-used").inner_text())
    assert chars >= len("pinned one") + len("pinned one body")
    # The preview was a serving: the count moved.
    assert relay.call("GET", f"/api/memory/{pinned['id']}")["serveCount"] == 1
    # A tight budget omits what does not fit, with the reason.
    page.get_by_label("Max chars (optional)").fill("200")
    big = remember(relay, "big", scope="agent", scopeKey=agent_id, body="x" * 400)
    page.get_by_role("button", name="Preview context").click()
    expect(result.locator("ul.omitted")).to_contain_text(big["id"])
    expect(result.locator("ul.omitted")).to_contain_text("maxChars")


def test_write_actions_and_the_page_follow_the_token_scope(page: Page, relay: Relay) -> None:
    tag = unique("scope")
    created = remember(relay, "read only here", tags=[tag])
    reader = relay.call(
        "POST",
        "/api/tokens",
        json={
            "sub": unique("reader"),
            "profile": "dashboard",
            "scope": ["memory:read", "activity:read"],
        },
    )
    open_memory(page, relay, reader["token"])
    search(page, tags=tag)
    detail = open_detail(page, created)
    expect(detail.get_by_label("Title")).to_have_value("read only here")
    for name in ("Save", "Delete", "Quarantine"):
        expect(detail.get_by_role("button", name=name)).to_have_count(0)
    blind = relay.call(
        "POST",
        "/api/tokens",
        json={
            "sub": unique("blind"),
            "profile": "dashboard",
            "scope": ["agent:read", "activity:read"],
        },
    )
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, relay, blind["token"])
    expect(page.locator("nav a[href='#/memory']")).to_have_count(0)


def test_memory_page_passes_axe_at_both_sizes(page: Page, relay: Relay) -> None:
    tag = unique("axe")
    created = remember(relay, "axe check", tags=[tag, "docs"], confidence="high")
    remember(relay, "axe secret", tags=[tag], sensitivity="secret")
    open_memory(page, relay)
    search(page, tags=tag)
    detail = open_detail(page, created)
    shots(page, "memory")
    # Keyboard: Esc in the panel closes it.
    detail.get_by_label("Title").focus()
    page.keyboard.press("Escape")
    expect(detail).to_have_count(0)
    page.get_by_role("tab", name="Preview context").click()
    shots(page, "memory-preview")
