"""One agent's page (#/agents/<id>) in a real browser: its facts and resume chain, focus and
Esc, the outcome of every action (failed, expired) and the one-lifecycle-action-at-a-time rule."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import Relay, sign_in
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


def open_agent(page: Page, relay: Relay, agent_id: str) -> None:
    page.goto(f"{relay.url}/#/agents/{agent_id}")
    expect(page.get_by_role("heading", level=1, name=agent_id)).to_be_focused()


def test_agent_page_by_url_shows_facts_workspaces_and_the_resume_chain(
    page: Page, relay: Relay
) -> None:
    orch = orchestrator(relay, "/srv/chain")
    old, new = unique("old"), unique("new")
    managed_agent(relay, orch["id"], old, cwd="/srv/chain/repo", sessionName=f"tmux-{old}")
    managed_agent(relay, orch["id"], new, resumeOfAgentId=old)
    relay.call("PATCH", f"/api/agents/{old}", json={"meta": {"resumedByAgentId": new}})
    workspace = unique("ws")
    relay.call(
        "POST",
        "/api/workspaces",
        json={
            "id": workspace,
            "agentId": old,
            "repoRoot": "/srv/chain/repo",
            "worktreePath": f"/srv/chain/repo/.wt/{workspace}",
            "branch": f"feat/{workspace}",
            "status": "active",
        },
    )
    sign_in(page, relay)
    open_agent(page, relay, old)
    facts = page.get_by_role("region", name="Facts")
    expect(facts).to_contain_text(old)
    expect(facts).to_contain_text("/srv/chain/repo")
    expect(facts).to_contain_text(f"tmux-{old}")
    expect(facts).to_contain_text("claude · opus")
    expect(facts).to_contain_text(orch["host"])
    expect(page.get_by_role("region", name="Workspaces")).to_contain_text(f"feat/{workspace}")
    expect(page.get_by_role("region", name="Timeline")).to_be_visible()
    shots(page, "agent")
    facts.get_by_role("link", name=new).click()
    expect(page.get_by_role("heading", level=1, name=new)).to_be_focused()
    page.get_by_role("region", name="Facts").get_by_role("link", name=old).click()
    expect(page.get_by_role("heading", level=1, name=old)).to_be_focused()


def test_opening_from_the_list_and_esc_return_focus_to_the_row(page: Page, relay: Relay) -> None:
    agent_id = unique("focus")
    agent(relay, agent_id)
    sign_in(page, relay)
    page.goto(f"{relay.url}/#/fleet?q={agent_id}")
    link = page.get_by_role("table", name="Agents").get_by_role("link", name=agent_id)
    link.click()
    expect(page).to_have_url(f"{relay.url}/#/agents/{agent_id}")
    expect(page.get_by_role("heading", level=1, name=agent_id)).to_be_focused()
    page.keyboard.press("Escape")
    expect(page).to_have_url(f"{relay.url}/#/fleet?q={agent_id}")
    row_link = page.get_by_role("table", name="Agents").get_by_role("link", name=agent_id)
    expect(row_link).to_be_focused()


def test_failed_shutdown_shows_its_error_in_the_page_and_a_toast(page: Page, relay: Relay) -> None:
    orch = orchestrator(relay)
    agent_id = unique("doomed")
    managed_agent(relay, orch["id"], agent_id)
    sign_in(page, relay)
    open_agent(page, relay, agent_id)
    page.get_by_role("button", name="Shut down").click()
    page.get_by_role("dialog").get_by_role("button", name="Shut down").click()
    toast = page.locator(".toast")
    expect(toast).to_contain_text(f"Shut down {agent_id}: queued")
    [command] = wait_for(
        lambda: [
            c
            for c in relay.call("GET", f"/api/orchestrators/{orch['id']}/commands")
            if c["type"] == "agent.shutdown" and c["params"]["agentId"] == agent_id
        ],
        "the shutdown command",
    )
    relay.call("PATCH", f"/api/commands/{command['id']}", json={"status": "running"})
    expect(toast).to_contain_text(f"Shut down {agent_id}: running")
    relay.call(
        "PATCH",
        f"/api/commands/{command['id']}",
        json={"status": "failed", "error": "tmux: can't find session"},
    )
    expect(toast).to_contain_text(f"Shut down {agent_id}: failed: tmux: can't find session")
    commands = page.get_by_role("region", name="Commands")
    expect(commands).to_contain_text("Shut down failed: tmux: can't find session")
    # After a reload the page still tells it, from GET /api/commands?agentId= (contract item 7).
    page.reload()
    expect(page.get_by_role("region", name="Commands")).to_contain_text(
        "Shut down failed: tmux: can't find session"
    )


def test_an_unacknowledged_shutdown_says_it_expired(page: Page, quiet_relay: QuietRelay) -> None:
    orch = orchestrator(quiet_relay)
    agent_id = unique("ignored")
    managed_agent(quiet_relay, orch["id"], agent_id)
    sign_in(page, quiet_relay, quiet_relay.token)
    open_agent(page, quiet_relay, agent_id)
    shutdown = page.get_by_role("button", name="Shut down")
    shutdown.click()
    page.get_by_role("dialog").get_by_role("button", name="Shut down").click()
    expect(page.locator(".toast")).to_contain_text(f"Shut down {agent_id}: queued")
    expect(shutdown).to_be_disabled()

    def expired() -> bool:
        quiet_relay.call("POST", "/api/maintenance/jobs/command-expiry/run")
        commands = quiet_relay.call("GET", "/api/commands", params={"status": "expired"})
        return any(c["params"].get("agentId") == agent_id for c in commands)

    wait_for(expired, "the 2 s command to expire")
    expected = "Shut down expired: the orchestrator never acknowledged it"
    expect(page.get_by_role("region", name="Commands")).to_contain_text(expected)
    expect(page.locator(".toast")).to_contain_text(
        f"Shut down {agent_id}: expired: the orchestrator never acknowledged it"
    )
    expect(shutdown).to_be_enabled()


def test_resume_cannot_be_sent_twice(page: Page, relay: Relay) -> None:
    orch = orchestrator(relay, "/srv/resume")
    agent_id = unique("claude")
    managed_agent(relay, orch["id"], agent_id, cwd="/srv/resume")
    relay.call(
        "POST",
        f"/api/agents/{agent_id}/timeline",
        json={
            "title": "started",
            "metadata": {"provider": "claude", "claudeResumeId": str(uuid.uuid4())},
        },
    )

    def offline() -> bool:
        relay.call("POST", f"/api/orchestrators/{orch['id']}/heartbeat")
        return bool(relay.call("GET", f"/api/agents/{agent_id}")["status"] == "offline")

    wait_for(offline, "the agent to be reaped offline")
    sign_in(page, relay)
    open_agent(page, relay, agent_id)
    resume = page.get_by_role("button", name="Resume", exact=True)
    expect(resume).to_be_enabled()
    resume.click()
    dialog = page.get_by_role("dialog")
    # Meanwhile another tab resumes it first…
    relay.call("POST", f"/api/agents/{agent_id}/actions", json={"action": "resume"})
    # …so this page's button turns disabled, and its pending confirmation gets the 409 verbatim
    # (needs contract item 4).
    dialog.get_by_role("button", name="Resume").click()
    expect(dialog.get_by_role("alert")).to_have_text(
        f"a lifecycle action is already in progress for agent {agent_id}"
    )
    dialog.get_by_role("button", name="Cancel").click()
    expect(resume).to_be_disabled()
    expect(resume).to_have_accessible_description("a lifecycle action is already in progress")
    restarts = [
        c
        for c in relay.call("GET", f"/api/orchestrators/{orch['id']}/commands")
        if c["type"] == "agent.restart" and c["params"]["agentId"] == agent_id
    ]
    assert len(restarts) == 1, restarts


def test_the_timeline_is_live(page: Page, relay: Relay) -> None:
    agent_id = unique("chatty")
    agent(relay, agent_id)
    relay.call("POST", f"/api/agents/{agent_id}/timeline", json={"title": "first entry"})
    sign_in(page, relay)
    open_agent(page, relay, agent_id)
    timeline = page.get_by_role("region", name="Timeline")
    expect(timeline).to_contain_text("first entry")
    relay.call(
        "POST",
        "/api/activity",
        json={"kind": "note", "title": "said something new", "agentId": agent_id},
    )
    expect(timeline).to_contain_text("said something new", timeout=5000)


def test_a_malformed_escape_in_the_link_keeps_the_dashboard_up(page: Page, relay: Relay) -> None:
    # decodeURIComponent throws on "%A" at the end: the shell used to unmount, blank page.
    sign_in(page, relay)
    page.goto(f"{relay.url}/#/agents/%E0%A4%A")
    expect(page.locator("nav a[aria-current=page]")).to_have_attribute("href", "#/fleet")
    page.goto(f"{relay.url}/#/tasks/%E0%A4%A")
    expect(page.locator("nav a[aria-current=page]")).to_have_attribute("href", "#/tasks")
