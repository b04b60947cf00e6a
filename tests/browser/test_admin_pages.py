"""Config, tokens, activity, commands, orchestrators and maintenance pages: defects of issue 18."""

from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Relay, screenshot, sign_in


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def show(page: Page, name: str) -> None:
    """Open a page by its address: on a phone the nav links sit behind the menu button."""
    page.evaluate("(name) => { location.hash = `#/${name}`; }", name)
    expect(page.locator("nav a[aria-current=page]")).to_have_attribute("href", f"#/{name}")


def goto(page: Page, relay: Relay, name: str) -> None:
    sign_in(page, relay)
    show(page, name)


def open_config_section(page: Page, relay: Relay, tab: str) -> None:
    goto(page, relay, "config")
    page.get_by_role("tab", name=tab).click()


def test_config_tabs_follow_the_arrow_keys(page: Page, relay: Relay) -> None:
    goto(page, relay, "config")
    steward = page.get_by_role("tab", name="Steward config")
    expect(steward).to_have_attribute("aria-selected", "true")
    steward.focus()
    page.keyboard.press("ArrowRight")
    profiles = page.get_by_role("tab", name="Agent profiles")
    expect(profiles).to_have_attribute("aria-selected", "true")
    expect(profiles).to_be_focused()
    page.keyboard.press("End")
    expect(page.get_by_role("tab", name="Spawn policies")).to_be_focused()
    page.keyboard.press("ArrowRight")  # wraps around
    expect(steward).to_be_focused()
    expect(steward).to_have_attribute("aria-selected", "true")
    steward_id = steward.get_attribute("id")
    assert steward_id
    expect(page.get_by_role("tabpanel")).to_have_attribute("aria-labelledby", steward_id)


def test_profile_save_conflict_shows_the_409(page: Page, relay: Relay) -> None:
    name = unique("profile")
    relay.call("PUT", f"/api/agent-profiles/{name}", json={"provider": "claude"})
    open_config_section(page, relay, "Agent profiles")
    page.get_by_role("button", name=name, exact=True).click()
    editor = page.get_by_label(f"agent-profiles/{name} JSON")
    expect(page.locator(".panel .hint")).to_contain_text("Version 1")
    editor.fill('{"provider": "codex", "model": "mine"}')  # the user edits version 1…
    relay.call("PUT", f"/api/agent-profiles/{name}", json={"provider": "claude", "model": "theirs"})
    page.locator(".panel").get_by_role("button", name="Save").click()  # …after someone saved v2
    expect(page.locator(".panel .error[role=alert]")).to_have_text(
        "version conflict: current version is 2"
    )
    assert relay.call("GET", f"/api/agent-profiles/{name}")["model"] == "theirs"
    # Discarding the edits reloads version 2; saving that goes through.
    page.locator(".panel").get_by_role("button", name="Discard edits").click()
    expect(page.locator(".panel .hint")).to_contain_text("Version 2")
    editor.fill('{"provider": "codex", "model": "mine"}')
    page.locator(".panel").get_by_role("button", name="Save").click()
    expect(page.locator(".toast", has_text=f"agent-profiles/{name}")).to_contain_text("version 3")
    assert relay.call("GET", f"/api/agent-profiles/{name}")["model"] == "mine"


def test_spawn_policy_delete_asks_first(page: Page, relay: Relay) -> None:
    name = unique("policy")
    relay.call("PUT", f"/api/config/spawn-policies/{name}", json={"value": {"provider": "codex"}})
    open_config_section(page, relay, "Spawn policies")
    page.get_by_role("button", name=name, exact=True).click()
    panel = page.locator(".panel")
    panel.get_by_role("button", name="Delete").click()
    dialog = page.locator("dialog")
    expect(dialog).to_contain_text(f"Delete the spawn policy {name}?")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    assert relay.http.get(f"/api/config/spawn-policies/{name}").status_code == 200
    panel.get_by_role("button", name="Delete").click()
    page.locator("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    assert relay.http.get(f"/api/config/spawn-policies/{name}").status_code == 404


def test_profile_delete_asks_first(page: Page, relay: Relay) -> None:
    name = unique("profile")
    relay.call("PUT", f"/api/agent-profiles/{name}", json={"provider": "codex"})
    open_config_section(page, relay, "Agent profiles")
    page.get_by_role("button", name=name, exact=True).click()
    page.locator(".panel").get_by_role("button", name="Delete").click()
    dialog = page.locator("dialog")
    expect(dialog).to_contain_text(f"Delete the agent profile {name}?")
    dialog.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    assert relay.http.get(f"/api/agent-profiles/{name}").status_code == 404


def test_activity_title_is_separate_from_its_label(page: Page, relay: Relay) -> None:
    title = unique("Deployment finished")
    relay.call(
        "POST", "/api/activity", json={"title": title, "view": "orchestrators", "kind": "note"}
    )
    goto(page, relay, "activity")
    item = page.locator(".feed li", has_text=title)
    label = item.locator(".kind")
    heading = item.locator(".feed-title")
    expect(label).to_have_text(re.compile("orchestrators", re.IGNORECASE))
    label_box, title_box = label.bounding_box(), heading.bounding_box()
    assert label_box is not None
    assert title_box is not None
    same_line = title_box["y"] < label_box["y"] + label_box["height"]
    if same_line:  # side by side: a visible gap between them
        assert title_box["x"] - (label_box["x"] + label_box["width"]) >= 8
    else:  # wrapped: the title starts below the label
        assert title_box["y"] >= label_box["y"] + label_box["height"]
    # The accessible text keeps them apart too (no "ORCHESTRATORSDeployment…").
    assert re.search(r"orchestrators\s+" + re.escape(title), item.inner_text(), re.IGNORECASE)


def test_past_times_never_read_as_future(page: Page, relay: Relay) -> None:
    # The browser's clock runs 20 s behind the relay's: fresh events look 20 s "ahead".
    page.add_init_script("{ const real = Date.now; Date.now = () => real() - 20000; }")
    title = unique("skewed")
    goto(page, relay, "activity")
    relay.call("POST", "/api/activity", json={"title": title, "view": "agents"})
    time = page.locator(".feed li", has_text=title).locator("time")
    expect(time).to_have_text("just now")
    relative = page.evaluate(
        """async () => {
          const { relative } = await import('/static/ui.js');
          const now = 1_000_000_000_000;
          return [relative(now + 3000, now), relative(now + 120000, now),
                  relative(now + 120000, now, { future: true }), relative(now - 90000, now),
                  relative(now - 90000, now, { future: true })];
        }"""
    )
    assert relative == ["just now", "just now", "in 2m", "1m ago", "1m ago"]
    for name in ("activity", "commands", "orchestrators", "workspaces"):
        show(page, name)
        page.wait_for_load_state("networkidle")
        # Expiries may lie ahead; nothing else on these pages does. Read in one snapshot:
        # two reads could straddle a list (the merge queue) arriving.
        ahead = page.evaluate(
            """() => [...document.querySelectorAll("main time")]
                .filter((t) => t.textContent.startsWith("in ") && !t.closest(".lease"))
                .map((t) => t.textContent)"""
        )
        assert ahead == [], name


def _no_mid_word_break(page: Page, selector: str) -> list[str]:
    """Elements under ``selector`` whose text was laid out on more than one line."""
    broken: list[str] = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].filter((el) => {
          const range = document.createRange(); range.selectNodeContents(el);
          const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
          return lines.size > 1;
        }).map((el) => el.textContent)""",
        selector,
    )
    return broken


def test_token_text_is_not_broken_mid_word(browser: Browser, relay: Relay) -> None:
    subject = unique("a-rather-long-subject-name-for-an-integration-service")
    relay.call(
        "POST",
        "/api/tokens",
        json={
            "sub": subject,
            "profile": "integration",
            "scope": ["agent:read", "agent:write", "command:read", "command:write", "config:read"],
            "constraints": {"orchestrators": ["host-with-a-long-name-1", "host-2"]},
        },
    )
    for width, height in ((1440, 900), (1000, 800), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        try:
            goto(page, relay, "tokens")
            row = page.locator("tr", has_text=subject)
            expect(row).to_be_visible()
            selectors = [".tokens-table .tag", ".tokens-table .clip", ".tokens-table .role"]
            for selector in selectors:
                assert _no_mid_word_break(page, selector) == [], (width, selector)
            subject_cell = row.locator(".subject")
            expect(subject_cell).to_have_attribute("title", subject)
            style = subject_cell.evaluate(
                "el => [getComputedStyle(el).whiteSpace, getComputedStyle(el).textOverflow]"
            )
            assert style == ["nowrap", "ellipsis"]
            jti = row.locator(".jti")
            expect(jti).to_have_attribute("title", re.compile(r"^token id \S+$"))
            revoke = row.get_by_role("button", name="Revoke")
            revoke.scroll_into_view_if_needed()
            box = revoke.bounding_box()
            assert box is not None
            assert box["x"] + box["width"] <= width, width
            if width == 390:  # conftest shoots each size it knows (h-a11y: 1440x900 and 390x844)
                screenshot(page, "pages-tokens")
        finally:
            context.close()


def test_orchestrator_registration_token_is_listed(page: Page, relay: Relay) -> None:
    # Contract item 9 (server side on another branch): registration mints a token record.
    orch_id = unique("host")
    relay.call(
        "POST",
        "/api/orchestrators",
        json={"id": orch_id, "name": orch_id, "baseDir": "/srv/x", "runtime": {"version": "t"}},
    )
    goto(page, relay, "tokens")
    row = page.locator("tr", has_text=orch_id)
    expect(row.locator(".role")).to_have_text("orchestrator")
    expect(row).to_contain_text("host daemon")
    expect(row.get_by_role("button", name="Revoke")).to_be_visible()


def _command(relay: Relay, agent_id: str) -> dict[str, Any]:
    reply: dict[str, Any] = relay.call(
        "POST", "/api/commands", json={"type": "agent.note", "target": agent_id}
    )
    command: dict[str, Any] = reply.get("command", reply)
    return command


def test_commands_filter_and_no_overflow_on_a_phone(browser: Browser, relay: Relay) -> None:
    agent_id = unique("agent-with-a-long-identifier-for-the-commands-page")
    relay.call("POST", "/api/agents", json={"id": agent_id, "name": agent_id})
    queued = _command(relay, agent_id)
    cancelled = _command(relay, agent_id)
    relay.call("PATCH", f"/api/commands/{cancelled['id']}", json={"status": "cancelled"})
    for width, height in ((1440, 900), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        try:
            goto(page, relay, "commands")
            expect(page.locator("tr", has_text=queued["id"])).to_be_visible()
            expect(page.locator("tr", has_text=cancelled["id"])).to_be_visible()
            page.get_by_label("Filter by status").select_option("cancelled")
            expect(page.locator("tr", has_text=queued["id"])).to_have_count(0)
            expect(page.locator("tr", has_text=cancelled["id"])).to_be_visible()
            statuses = page.locator(".commands-table tbody .badge").all_inner_texts()
            assert statuses
            assert {s.strip() for s in statuses} == {"cancelled"}
            page.get_by_label("Filter by status").select_option("")
            page.locator("tr", has_text=queued["id"]).get_by_role("button").click()
            expect(page.get_by_role("complementary", name="Command detail")).to_be_visible()
            overflow = page.evaluate(
                "() => { const s = document.querySelector('#main > section');"
                " return [s.scrollWidth, s.getBoundingClientRect().right]; }"
            )
            assert max(overflow) <= width, (width, overflow)
            if width == 390:
                screenshot(page, "pages-commands")
        finally:
            context.close()


def test_every_admin_page_at_both_sizes(browser: Browser, relay: Relay) -> None:
    relay.call("PUT", f"/api/agent-profiles/{unique('shot')}", json={"provider": "claude"})
    relay.call(
        "POST",
        "/api/orchestrators",
        json={
            "id": unique("shot-host"),
            "name": "shot-host",
            "baseDir": "/srv/shots",
            "runtime": {"version": "t"},
        },
    )
    for width, height in ((1440, 900), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        try:
            sign_in(page, relay)
            for name in ("config", "activity", "orchestrators", "maintenance"):
                show(page, name)
                page.wait_for_load_state("networkidle")
                right = page.evaluate(
                    "() => { const s = document.querySelector('#main > section');"
                    " return Math.max(s.scrollWidth, s.getBoundingClientRect().right); }"
                )
                assert right <= width, (name, width, right)
                if name == "orchestrators":
                    spawn = page.get_by_role("button", name="Spawn…").first
                    spawn.scroll_into_view_if_needed()
                    expect(spawn).to_be_visible()
                if name == "maintenance":
                    run = page.get_by_role("button", name="Run now").first
                    run.scroll_into_view_if_needed()
                    expect(run).to_be_visible()
                if width == 390:
                    screenshot(page, f"pages-{name}")
        finally:
            context.close()
