"""The Workspaces page: actions the status machine allows, the merge queue, bulk cleanup."""

from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.browser.conftest import Relay, screenshot, sign_in


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def show(page: Page, name: str) -> None:
    """Open a page by its address: on a phone the nav links sit behind the menu button."""
    page.evaluate("(name) => { location.hash = `#/${name}`; }", name)
    expect(page.locator("nav a[aria-current=page]")).to_have_attribute("href", f"#/{name}")


def host(relay: Relay, base_dir: str) -> str:
    orch_id = unique("host")
    relay.call(
        "POST",
        "/api/orchestrators",
        json={"id": orch_id, "name": orch_id, "baseDir": base_dir, "runtime": {"version": "t"}},
    )
    return orch_id


def workspace(relay: Relay, repo: str, status: str, **extra: Any) -> str:
    workspace_id = unique("ws")
    relay.call(
        "POST",
        "/api/workspaces",
        json={
            "id": workspace_id,
            "repoRoot": repo,
            "worktreePath": f"{repo}/.wt/{workspace_id}",
            "branch": f"feat/{workspace_id}",
            "baseRef": "main",
            "status": status,
            **extra,
        },
    )
    return workspace_id


def open_workspaces(page: Page, relay: Relay) -> None:
    sign_in(page, relay)
    show(page, "workspaces")


def test_actions_follow_the_status_machine(page: Page, relay: Relay) -> None:
    repo = f"/srv/{unique('machine')}/repo"
    merged = workspace(relay, repo, "merged")
    cleaned = workspace(relay, repo, "cleaned")
    ready = workspace(relay, repo, "ready")
    open_workspaces(page, relay)
    merged_row = page.locator("tr", has_text=merged)
    expect(merged_row.get_by_role("button", name="Cleanup")).to_be_visible()
    for name in ("Request review", "Abandon", "Merge…"):
        expect(merged_row.get_by_role("button", name=name)).to_have_count(0)
    cleaned_row = page.locator("tr", has_text=cleaned)
    expect(cleaned_row.get_by_role("button", name="Delete record")).to_be_visible()
    for name in ("Request review", "Abandon", "Cleanup", "Merge…"):
        expect(cleaned_row.get_by_role("button", name=name)).to_have_count(0)
    ready_row = page.locator("tr", has_text=ready)
    for name in ("Merge…", "Request review", "Abandon", "Cleanup", "Delete record"):
        expect(ready_row.get_by_role("button", name=name)).to_be_visible()


def test_cleanup_without_an_owner_offers_to_delete_the_record(page: Page, relay: Relay) -> None:
    repo = f"/nobody-owns/{unique('orphan')}/repo"  # under no orchestrator's base dir
    orphan = workspace(relay, repo, "abandoned")
    open_workspaces(page, relay)
    row = page.locator("tr", has_text=orphan)
    row.get_by_role("button", name="Cleanup").click()
    page.locator("dialog").get_by_role("button", name="Cleanup").click()
    notice = row.locator(".notice")
    expect(notice).to_contain_text("No orchestrator manages this workspace's folder")
    expect(row).not_to_contain_text("/api/")  # no API talk for a dashboard user
    notice.get_by_role("button", name="Delete the record").click()
    page.locator("dialog").get_by_role("button", name="Delete record").click()
    expect(page.locator("tr", has_text=orphan)).to_have_count(0)
    assert relay.http.get(f"/api/workspaces/{orphan}").status_code == 404


def test_force_release_from_the_merge_queue(page: Page, relay: Relay) -> None:
    base = f"/srv/{unique('queue')}"
    host(relay, base)
    repo = f"{base}/repo"
    first, second = workspace(relay, repo, "ready"), workspace(relay, repo, "ready")
    relay.call("POST", f"/api/workspaces/{first}/actions", json={"action": "merge"})
    open_workspaces(page, relay)
    card = page.get_by_role("listitem", name=f"Merge queue of {repo}")
    expect(card.locator(".lease")).to_contain_text(f"feat/{first}")
    expect(card.locator(".lease")).to_contain_text(re.compile(r"Expires\s*in \d+"))
    expect(card.locator(".waiting")).to_contain_text(f"feat/{second}")
    card.get_by_role("button", name="Force release").click()
    dialog = page.locator("dialog")
    expect(dialog).to_contain_text(f"Force release the merge lease on {repo}?")
    dialog.get_by_role("button", name="Force release").click()
    expect(card).to_contain_text("No merge in progress.")
    assert all(lease["repoRoot"] != repo for lease in relay.call("GET", "/api/merge-leases"))
    # The queue follows the stream: a merge started elsewhere shows up without a reload.
    relay.call("POST", f"/api/workspaces/{second}/actions", json={"action": "merge"})
    expect(card.locator(".lease")).to_contain_text(f"feat/{second}", timeout=5000)
    screenshot(page, "workspaces-merge-queue")


def test_git_facts_and_changed_files(page: Page, relay: Relay) -> None:
    repo = f"/srv/{unique('git')}/repo"
    files = ["src/a.py", "src/b.py", "README.md"]
    git = {
        "ahead": 3,
        "behind": 1,
        "changedFiles": files,
        "changedFilesTotal": 5,
        "dirty": True,
        "checkedAt": 1,
    }
    with_git = workspace(relay, repo, "active", metadata={"git": git})
    without = workspace(relay, repo, "active")
    open_workspaces(page, relay)
    row = page.locator("tr", has_text=with_git)
    expect(row).to_contain_text("3 ahead · 1 behind")
    expect(row).to_contain_text("uncommitted changes")
    row.get_by_text("5 changed files").click()
    for path in files:
        expect(row.get_by_text(path)).to_be_visible()
    expect(row).to_contain_text("and 2 more")
    expect(page.locator("tr", has_text=without).locator("td[data-label=Git]")).to_have_text("—")


def test_a_row_that_moves_keeps_the_page_still_and_says_where_it_went(
    page: Page, relay: Relay
) -> None:
    repo = f"/srv/{unique('scroll')}/repo"
    ids = [workspace(relay, repo, "active") for _ in range(25)]
    open_workspaces(page, relay)
    target = page.locator("tr", has_text=ids[5])
    target.scroll_into_view_if_needed()
    page.mouse.wheel(0, 300)
    expect(target).to_be_in_viewport()
    before = page.evaluate("window.scrollY")
    target.get_by_role("button", name="Request review").click()
    toast = page.locator(".toast", has_text=f"feat/{ids[5]}")
    expect(toast).to_contain_text("Review requested for")
    expect(toast).to_contain_text("now under “review requested”")
    expect(page.locator(f"#ws-{ids[5]}").locator("xpath=ancestor::section[1]")).to_contain_text(
        "review_requested"
    )
    assert abs(page.evaluate("window.scrollY") - before) <= 2
    toast.get_by_role("button", name="Show it").click()
    expect(page.locator(f"#ws-{ids[5]}")).to_be_in_viewport()


def test_bulk_cleanup_of_merged_confirms_with_the_count(page: Page, relay: Relay) -> None:
    base = f"/srv/{unique('bulk')}"
    host(relay, base)
    repo = f"{base}/repo"
    merged = [workspace(relay, repo, "merged") for _ in range(3)]
    active = workspace(relay, repo, "active")
    open_workspaces(page, relay)
    button = page.get_by_role("button", name=re.compile(r"Clean up merged \(\d+\)…"))
    expect(button).to_be_visible()
    count = int(re.findall(r"\d+", button.inner_text())[0])
    assert count >= 3
    button.click()
    dialog = page.locator("dialog")
    expect(dialog).to_contain_text(f"Clean up {count} merged workspace")
    dialog.get_by_role("button", name=f"Clean up {count}").click()
    expect(page.locator(".toast", has_text="Clean up:")).to_contain_text(f"of {count} done")
    for workspace_id in merged:
        status = relay.call("GET", f"/api/workspaces/{workspace_id}")["status"]
        assert status == "cleanup_requested"
    # Selected rows: the bulk bar acts on exactly those, skipping what their status forbids.
    page.get_by_label(f"Select feat/{active}").check()
    page.get_by_label(f"Select feat/{merged[0]}").check()  # now cleanup_requested: skipped
    page.get_by_role("button", name="Abandon…").click()
    dialog = page.locator("dialog")
    expect(dialog).to_contain_text("1 selected cannot be")
    dialog.get_by_role("button", name="Abandon 1").click()
    expect(page.locator(".toast", has_text="Abandon:")).to_contain_text("1 of 1 done")
    assert relay.call("GET", f"/api/workspaces/{active}")["status"] == "abandoned"
    assert relay.call("GET", f"/api/workspaces/{merged[0]}")["status"] == "cleanup_requested"
    # A group's header box selects the whole group.
    page.get_by_label("Select all abandoned workspaces").check()
    expect(page.get_by_text(re.compile(r"^\d+ selected$"))).to_be_visible()
    expect(page.get_by_label(f"Select feat/{active}")).to_be_checked()


def test_narrow_screen_cards_and_screenshots(browser: Browser, relay: Relay) -> None:
    repo = f"/srv/{unique('phone')}/repo"
    git = {"ahead": 1, "behind": 0, "changedFiles": ["a"], "changedFilesTotal": 1}
    workspace_id = workspace(relay, repo, "ready", metadata={"git": git, "dirty": False})
    viewports: tuple[ViewportSize, ...] = (
        {"width": 1440, "height": 900},
        {"width": 390, "height": 844},
    )
    for viewport in viewports:
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        try:
            open_workspaces(page, relay)
            row = page.locator("tr", has_text=workspace_id)
            cleanup = row.get_by_role("button", name="Cleanup")
            cleanup.scroll_into_view_if_needed()
            expect(cleanup).to_be_in_viewport()
            box = cleanup.bounding_box()
            assert box is not None
            assert box["x"] + box["width"] <= viewport["width"]
            if viewport["width"] == 390:
                assert row.evaluate("tr => getComputedStyle(tr).display") == "block"
                overflow = page.evaluate(
                    "() => { const s = document.querySelector('section.workspaces');"
                    " return s.scrollWidth - s.clientWidth; }"
                )
                assert overflow <= 0
            if viewport["width"] == 390:  # conftest shoots each size it knows
                screenshot(page, "pages-workspaces")
        finally:
            context.close()


def test_a_merge_reports_what_became_of_its_command(page: Page, relay: Relay) -> None:
    base = f"/srv/{unique('outcome')}"
    orch_id = host(relay, base)
    workspace_id = workspace(relay, f"{base}/repo", "ready")
    open_workspaces(page, relay)
    page.locator("tr", has_text=workspace_id).get_by_role("button", name="Merge…").click()
    page.locator("dialog").get_by_role("button", name="Merge").click()
    toast = page.locator(".toast", has_text=f"feat/{workspace_id}")
    expect(toast).to_contain_text("Merge of")
    [command] = [
        c
        for c in relay.call("GET", f"/api/orchestrators/{orch_id}/commands")
        if c["params"].get("workspaceId") == workspace_id
    ]
    relay.call(
        "PATCH",
        f"/api/commands/{command['id']}",
        json={"status": "failed", "error": "rebase stopped: conflict in src/a.py"},
    )
    expect(toast).to_contain_text(
        f"Merge of feat/{workspace_id}: failed: rebase stopped: conflict in src/a.py"
    )
    expect(toast).to_have_class(re.compile("toast-error"))
