"""The dashboard in a real browser: sign-in, live updates, actions and their errors."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import Relay, screenshot, sign_in

PAGES = [
    "fleet",
    "orchestrators",
    "workspaces",
    "commands",
    "activity",
    "config",
    "tokens",
    "maintenance",
]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def orchestrator(relay: Relay, base_dir: str) -> dict[str, Any]:
    orch_id = unique("host")
    reply: dict[str, Any] = relay.call(
        "POST",
        "/api/orchestrators",
        json={
            "id": orch_id,
            "name": orch_id,
            "host": f"{orch_id}.local",
            "baseDir": base_dir,
            "runtime": {"version": "test"},
        },
    )
    return reply


def test_sign_in_and_every_page_renders(page: Page, relay: Relay) -> None:
    sign_in(page, relay)
    expect(page.locator("nav a[aria-current=page]")).to_have_text("Fleet")
    for name in PAGES:
        page.click(f"nav a[href='#/{name}']")
        expect(page.locator("nav a[aria-current=page]")).to_have_attribute("href", f"#/{name}")
        page.wait_for_load_state("networkidle")
        screenshot(page, name)


def test_wrong_token_is_refused(page: Page, relay: Relay) -> None:
    page.goto(relay.url + "/")
    page.fill("#token", "not-a-token")
    page.click("button[type=submit]")
    expect(page.locator(".signin .error")).to_have_text("That token was not accepted.")


def test_agent_registered_through_the_api_appears_live(page: Page, relay: Relay) -> None:
    sign_in(page, relay)
    agent_id = unique("live-agent")
    # The list is virtual (only the rows in view exist): search narrows it to this agent.
    page.get_by_label("Search agents").fill(agent_id)
    relay.call("POST", "/api/agents", json={"id": agent_id, "name": agent_id, "tags": ["x"]})
    expect(page.get_by_role("link", name=agent_id)).to_be_visible(timeout=5000)


def test_resume_a_dead_claude_session(page: Page, relay: Relay) -> None:
    orch = orchestrator(relay, "/srv/resume")["orchestrator"]
    agent_id = unique("claude")
    resume_id = str(uuid.uuid4())
    relay.call(
        "POST",
        "/api/agents",
        json={
            "id": agent_id,
            "name": agent_id,
            "orchestratorId": orch["id"],
            "meta": {
                "provider": "claude",
                "model": "opus",
                "runnerManaged": True,
                "cwd": "/srv/resume",
            },
        },
    )
    relay.call(
        "POST",
        f"/api/agents/{agent_id}/timeline",
        json={"title": "started", "metadata": {"provider": "claude", "claudeResumeId": resume_id}},
    )
    # The agent goes silent; the orchestrator keeps beating. Wait (bounded) for the reaper.
    deadline = time.monotonic() + 15
    while relay.call("GET", f"/api/agents/{agent_id}")["status"] != "offline":
        assert time.monotonic() < deadline, "agent was never reaped offline"
        relay.call("POST", f"/api/orchestrators/{orch['id']}/heartbeat")
        time.sleep(0.2)
    relay.call("POST", f"/api/orchestrators/{orch['id']}/heartbeat")
    sign_in(page, relay)
    page.goto(f"{relay.url}/#/agents/{agent_id}")
    resume = page.get_by_role("button", name="Resume", exact=True)
    expect(resume).to_be_enabled()
    resume.click()
    page.get_by_role("dialog").get_by_role("button", name="Resume").click()
    expect(page.locator(".agent-head .badge.lifecycle")).to_have_text("resuming", timeout=5000)
    commands = relay.call("GET", f"/api/orchestrators/{orch['id']}/commands")
    [command] = [c for c in commands if c["type"] == "agent.restart"]
    assert command["params"]["action"] == "resume"
    screenshot(page, "fleet-resuming")


def test_second_merge_on_one_repo_shows_the_409(page: Page, relay: Relay) -> None:
    base = f"/srv/{unique('merge')}"
    orchestrator(relay, base)
    repo = f"{base}/repo"
    first, second = unique("ws"), unique("ws")
    for workspace_id in (first, second):
        relay.call(
            "POST",
            "/api/workspaces",
            json={
                "id": workspace_id,
                "repoRoot": repo,
                "worktreePath": f"{repo}/.wt/{workspace_id}",
                "branch": f"feat/{workspace_id}",
                "baseRef": "main",
                "status": "ready",
            },
        )
    sign_in(page, relay)
    page.click("nav a[href='#/workspaces']")
    for workspace_id in (first, second):
        row = page.locator("tr", has_text=workspace_id)
        row.get_by_role("button", name="Merge…").click()
        page.locator("dialog").get_by_role("button", name="Merge").click()
        if workspace_id == first:
            expect(page.locator("dialog")).to_have_count(0)
    expect(page.locator("dialog .error")).to_have_text(
        f"a merge is already in progress for {repo} (workspace {first}); retry after it settles"
    )
    screenshot(page, "workspaces-merge-409")


def test_stale_steward_config_save_shows_the_conflict(page: Page, relay: Relay) -> None:
    sign_in(page, relay)
    page.click("nav a[href='#/config']")
    editor = page.get_by_label("steward/global JSON")
    expect(page.locator(".editor .hint").first).to_contain_text(re.compile("Version|Not set yet"))
    current = relay.call("GET", "/api/steward-config")["version"]
    editor.fill('{"mine": true}')  # the user starts editing version `current`…
    relay.call("PUT", "/api/steward-config", json={"value": {"changedElsewhere": True}})
    expect(page.locator(".editor .hint").first).to_contain_text("A newer version exists")
    page.get_by_role("button", name="Save").click()  # …and saves after someone else did
    expect(page.locator(".editor .error[role=alert]")).to_have_text(
        f"version conflict: current version is {current + 1}"
    )


def test_invalid_json_cannot_be_saved(page: Page, relay: Relay) -> None:
    sign_in(page, relay)
    page.click("nav a[href='#/config']")
    editor = page.get_by_label("steward/global JSON")
    expect(page.locator(".editor .hint").first).to_contain_text(re.compile("Version|Not set yet"))
    editor.fill("{not json")
    expect(page.get_by_role("button", name="Save")).to_be_disabled()


def test_token_without_command_write_sees_merge_disabled(page: Page, relay: Relay) -> None:
    base = f"/srv/{unique('ro')}"
    repo = f"{base}/repo"
    workspace_id = unique("ws")
    relay.call(
        "POST",
        "/api/workspaces",
        json={"id": workspace_id, "repoRoot": repo, "worktreePath": f"{repo}/w", "status": "ready"},
    )
    issued = relay.call(
        "POST",
        "/api/tokens",
        json={
            "sub": "viewer",
            "profile": "dashboard",
            "scope": ["agent:read", "agent:write", "activity:read", "config:read", "command:read"],
        },
    )
    sign_in(page, relay, issued["token"])
    expect(page.locator("nav a[href='#/tokens']")).to_have_count(0)
    page.click("nav a[href='#/workspaces']")
    row = page.locator("tr", has_text=workspace_id)
    expect(row.get_by_role("button", name="Merge…")).to_be_disabled()
    expect(row.get_by_role("button", name="Abandon")).to_be_enabled()
