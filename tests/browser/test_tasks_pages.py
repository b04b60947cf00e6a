"""The Tasks board and task page, Pairs, Integrations and Automations (issue 20, part 7): live
from the stream, the needs_human queue's Requeue (and its 409 in the server's words), an
artifact downloaded with the bearer token, Run now; axe and screenshots at both sizes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from bench.common import relay_server
from tests.browser.conftest import Relay, sign_in
from tests.browser.fleet_support import QuietRelay, agent, shots, unique

CI_TOKEN = "ci-integration-token-for-the-browser-0123"


@pytest.fixture(scope="module")
def tasks_relay(relay: Relay) -> Iterator[QuietRelay]:
    """A relay with a `ci` integration and agents that stay online; ``relay`` first: it skips
    where there is no browser."""
    env = {
        "RELAY_AGENT_STALE_SECONDS": "60",
        "RELAY_LOG_LEVEL": "WARNING",
        "RELAY_INTEGRATION_TOKENS": json.dumps(
            [{"name": "ci", "token": CI_TOKEN, "scopes": ["task:read"], "perMinute": 600}]
        ),
    }
    with relay_server(env) as server:
        quiet = QuietRelay(server.base, server.log_path, server.token)
        try:
            yield quiet
        finally:
            quiet.http.close()


def open_page(page: Page, relay: QuietRelay, route: str) -> None:
    sign_in(page, relay, relay.token)
    page.evaluate("(route) => { location.hash = route; }", route)
    section = route.split("?")[0].split("/")[1]
    expect(page.locator("nav a[aria-current=page]")).to_have_attribute("href", f"#/{section}")


def create_task(relay: Relay, title: str, **fields: Any) -> dict[str, Any]:
    task: dict[str, Any] = relay.call("POST", "/api/tasks", json={"title": title, **fields})
    return task


def needs_human(relay: Relay, title: str) -> dict[str, Any]:
    """A task whose one attempt was given back by its agent: it needs a human."""
    worker = unique("tw")
    agent(relay, worker)
    task = create_task(relay, title, maxAttempts=1)
    relay.call("POST", f"/api/tasks/{task['id']}/claim", json={"agentId": worker})
    after: dict[str, Any] = relay.call(
        "POST", f"/api/tasks/{task['id']}/status", json={"status": "submitted"}
    )
    assert after["status"] == "needs_human"
    return after


def column(page: Page, status: str) -> Any:
    return page.locator(f".task-column[data-status='{status}']")


def test_a_task_created_through_the_api_appears_live_on_the_board(
    page: Page, tasks_relay: QuietRelay
) -> None:
    open_page(page, tasks_relay, "#/tasks")
    expect(page.get_by_role("heading", name="Board")).to_be_visible()
    title = unique("live task")
    task = create_task(tasks_relay, title)
    card = column(page, "submitted").locator(f"[data-task='{task['id']}']")
    expect(card).to_contain_text(title, timeout=5000)
    # Claimed while the page is open: the card moves to its new column.
    worker = unique("tw")
    agent(tasks_relay, worker)
    tasks_relay.call("POST", f"/api/tasks/{task['id']}/claim", json={"agentId": worker})
    moved = column(page, "assigned").locator(f"[data-task='{task['id']}']")
    expect(moved).to_contain_text(worker, timeout=5000)
    expect(column(page, "submitted").locator(f"[data-task='{task['id']}']")).to_have_count(0)
    # Final tasks are folded away until asked for.
    tasks_relay.call("POST", f"/api/tasks/{task['id']}/cancel", json={})
    folded = column(page, "canceled").locator(f"[data-task='{task['id']}']")
    expect(folded).to_be_attached(timeout=5000)
    expect(folded).to_be_hidden()
    page.get_by_text(re.compile(r"^Final tasks")).click()
    expect(folded).to_be_visible()
    shots(page, "tasks-board")


def test_requeue_from_the_needs_human_queue(page: Page, tasks_relay: QuietRelay) -> None:
    title = unique("stuck task")
    task = needs_human(tasks_relay, title)
    open_page(page, tasks_relay, "#/tasks")
    queue = page.get_by_role("region", name="Needs a human")
    expect(queue.locator(f"[data-task='{task['id']}']")).to_contain_text("1/1")
    shots(page, "tasks-needs-human")
    # By keyboard: Enter opens the confirmation, Escape closes it and focus comes back.
    requeue = queue.get_by_role("button", name=f"Requeue {title}")
    requeue.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("attempts reset")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(requeue).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_contain_text("attempts reset")
    dialog.get_by_role("button", name="Requeue").click()
    expect(page.locator(".toast-ok")).to_contain_text(f'Requeued "{title}": it is submitted')
    expect(dialog).to_have_count(0)
    expect(queue.locator(f"[data-task='{task['id']}']")).to_have_count(0)
    expect(column(page, "submitted").locator(f"[data-task='{task['id']}']")).to_be_visible()
    after = tasks_relay.call("GET", f"/api/tasks/{task['id']}")
    assert (after["status"], after["attempt"]) == ("submitted", 0)


def test_a_refused_requeue_shows_the_servers_words(page: Page, tasks_relay: QuietRelay) -> None:
    title = unique("raced task")
    task = needs_human(tasks_relay, title)
    open_page(page, tasks_relay, "#/tasks")
    queue = page.get_by_role("region", name="Needs a human")
    queue.get_by_role("button", name=f"Requeue {title}").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    # Someone else cancels it while the dialog is open: the relay refuses the requeue (409).
    tasks_relay.call("POST", f"/api/tasks/{task['id']}/cancel", json={})
    dialog.get_by_role("button", name="Requeue").click()
    refused = "task is canceled; cannot requeue"
    expect(page.locator(".toast-error")).to_contain_text(refused)
    expect(dialog.get_by_role("alert")).to_have_text(refused)
    page.keyboard.press("Escape")
    assert tasks_relay.call("GET", f"/api/tasks/{task['id']}")["status"] == "canceled"


def test_the_task_page_shows_the_result_and_downloads_an_artifact(
    page: Page, tasks_relay: QuietRelay
) -> None:
    worker = unique("tw")
    agent(tasks_relay, worker)
    title = unique("report task")
    task = create_task(
        tasks_relay,
        title,
        body="write the report",
        routingHints={"requiredCapabilities": [], "tags": ["reports"]},
    )
    agent(tasks_relay, worker + "-2", tags=["reports"])
    tasks_relay.call("POST", f"/api/tasks/{task['id']}/claim", json={"agentId": worker + "-2"})
    content = b"line one\nline two\n"
    uploaded = tasks_relay.http.post(
        "/api/artifacts",
        params={"name": "report.txt", "kind": "file"},
        content=content,
        headers={"Content-Type": "text/plain"},
    )
    assert uploaded.status_code == 201, uploaded.text
    artifact_id = uploaded.json()["artifact"]["id"]
    open_page(page, tasks_relay, f"#/tasks/{task['id']}")
    expect(page.get_by_role("heading", level=2, name=title)).to_be_visible()
    expect(page.locator(".task-page")).to_contain_text("reports")
    # Completed while the page is open: result, message and artifact appear, and the history
    # gains the step.
    tasks_relay.call(
        "POST",
        f"/api/tasks/{task['id']}/status",
        json={
            "status": "completed",
            "message": "all done",
            "result": {"pages": 3, "ok": True},
            "artifacts": [{"artifactId": artifact_id}],
        },
    )
    expect(page.locator(".task-result")).to_contain_text('"pages": 3', timeout=5000)
    expect(page.locator(".task-status-message")).to_have_text("all done")
    history = page.get_by_role("list", name="History")
    expect(history).to_contain_text(f"created by {tasks_relay.call('GET', '/api/me')['sub']}")
    expect(history).to_contain_text("completed")
    item = page.locator(f"[data-artifact='{artifact_id}']")
    expect(item).to_contain_text("text/plain")
    with page.expect_download() as info:
        item.get_by_role("button", name="Download report.txt").click()
    download = info.value
    assert download.suggested_filename == "report.txt"
    path = download.path()
    assert path is not None
    assert path.read_bytes() == content
    expect(page.locator(".toast-ok")).to_contain_text("Downloaded report.txt")
    shots(page, "task-page")


def test_a_read_only_token_sees_no_actions_and_no_pages_past_its_scope(
    page: Page, tasks_relay: QuietRelay
) -> None:
    title = unique("watched task")
    task = needs_human(tasks_relay, title)
    issued = tasks_relay.call(
        "POST",
        "/api/tokens",
        json={
            "sub": unique("viewer"),
            "role": "viewer",
            "scope": ["task:read", "activity:read", "agent:read"],
        },
    )
    sign_in(page, tasks_relay, issued["token"])
    page.evaluate("() => { location.hash = '#/tasks'; }")
    row = page.get_by_role("region", name="Needs a human").locator(f"[data-task='{task['id']}']")
    expect(row).to_contain_text("needs task:write")
    expect(row.get_by_role("button")).to_have_count(0)
    page.evaluate(f"() => {{ location.hash = '#/tasks/{task['id']}'; }}")
    expect(page.get_by_role("heading", level=2, name=title)).to_be_visible()
    expect(page.locator(".task-page").get_by_role("button")).to_have_count(0)
    page.evaluate("() => { location.hash = '#/integrations'; }")
    expect(page.locator("main")).to_contain_text(
        "Your token cannot read integrations (needs config:read)."
    )
    page.evaluate("() => { location.hash = '#/automations'; }")
    expect(page.locator("main")).to_contain_text(
        "Your token cannot read automations (needs config:read)."
    )


def test_a_missing_task_says_so(page: Page, tasks_relay: QuietRelay) -> None:
    open_page(page, tasks_relay, "#/tasks/tsk_00000000000000000000000000000000")
    expect(page.get_by_role("alert")).to_have_text(
        "Task tsk_00000000000000000000000000000000 was not found."
    )


def test_pairs_list_live_with_their_conversation(page: Page, tasks_relay: QuietRelay) -> None:
    driver, navigator = unique("drv"), unique("nav")
    agent(tasks_relay, driver)
    agent(tasks_relay, navigator)
    open_page(page, tasks_relay, "#/pairs")
    pair = tasks_relay.call(
        "POST",
        "/api/pairs",
        json={"driver": driver, "navigator": navigator, "objective": "fix the flaky test"},
    )
    row = page.locator(f"[data-pair='{pair['id']}']")
    expect(row).to_contain_text("fix the flaky test", timeout=5000)
    # Root acts for both parties: both joined, so the pair is active at once.
    expect(row).to_contain_text("active")
    expect(row).to_contain_text(f"{driver} joined")
    expect(row).to_contain_text(driver)
    expect(row).to_contain_text(navigator)
    tasks_relay.call("POST", f"/api/pairs/{pair['id']}/actions", json={"action": "abort"})
    expect(row).to_contain_text("aborted", timeout=5000)
    shots(page, "pairs")
    row.get_by_role("link", name=f"Conversation of pair {pair['id']}").click()
    expect(page.locator("nav a[aria-current=page]")).to_have_attribute("href", "#/messages")
    expect(page.locator(".message-list")).to_contain_text(
        f"pair {pair['id']}: {driver} drives", timeout=5000
    )


def post_event(relay: QuietRelay, delivery: str, **body: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{relay.url}/api/integrations/ci/events",
        json=body,
        headers={"Authorization": f"Bearer {CI_TOKEN}", "X-Delivery-Id": delivery},
    )
    assert response.status_code == 201, response.text
    reply: dict[str, Any] = response.json()
    return reply


def test_integrations_show_summaries_and_recent_events_live(
    page: Page, tasks_relay: QuietRelay
) -> None:
    first = post_event(tasks_relay, unique("d"), type="build.failed", subject="main #1")
    open_page(page, tasks_relay, "#/integrations")
    summary = page.locator("[data-integration='ci']")
    expect(summary).to_contain_text("600")
    summary.get_by_role("button", name="Events of ci").click()
    events = page.get_by_role("region", name="Recent events of ci")
    expect(events.locator(f"[data-event='{first['event']['id']}']")).to_contain_text("main #1")
    later = post_event(
        tasks_relay, unique("d"), type="build.passed", subject="main #2", payload={"sha": "s3cr"}
    )
    row = events.locator(f"[data-event='{later['event']['id']}']")
    expect(row).to_contain_text("build.passed", timeout=5000)
    expect(events.locator("tbody tr").first).to_contain_text("main #2")
    expect(page.locator("main")).not_to_contain_text("s3cr")
    shots(page, "integrations")


def test_automations_run_now_records_a_dispatch(page: Page, tasks_relay: QuietRelay) -> None:
    if tasks_relay.http.get("/api/automations").status_code == 404:
        # The page says so rather than breaking; the rest waits for the automations branch.
        open_page(page, tasks_relay, "#/automations")
        expect(page.get_by_role("alert")).to_have_text("This relay has no automations route yet.")
        shots(page, "automations")
        pytest.skip("this relay has no automations routes yet (h-automations)")
    name = unique("on-deploy")
    automation = tasks_relay.call(
        "POST",
        "/api/automations",
        json={
            "name": name,
            "trigger": {"type": "event", "eventType": f"{name}.*", "integration": "ci"},
            "action": {"type": "create_task", "task": {"title": "check {{event.subject}}"}},
        },
    )
    open_page(page, tasks_relay, "#/automations")
    page.get_by_role("button", name=f"Open {name}").click()
    detail = page.get_by_role("region", name=f"Automation {name}")
    expect(detail).to_contain_text("Never dispatched.")
    # An integration event it matches dispatches it: the row appears live.
    post_event(tasks_relay, unique("d"), type=f"{name}.done", subject="release 7")
    rows = detail.locator("[data-dispatch]")
    expect(rows).to_have_count(1, timeout=5000)
    expect(rows.first).to_contain_text("event")
    detail.get_by_role("button", name="Run now").click()
    expect(page.locator(".toast-ok")).to_contain_text(f"Run {name}: succeeded: task")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("manual")
    dispatches = tasks_relay.call("GET", f"/api/automations/{automation['id']}/dispatches")
    assert [d["trigger"] for d in dispatches] == ["manual", "event"]
    # Its outcome links the task it created.
    made = dispatches[1]["result"]["taskId"]
    rows.nth(1).get_by_role("link", name=made).click()
    expect(page.get_by_role("heading", level=2, name="check release 7")).to_be_visible()
    page.go_back()
    page.get_by_role("button", name=f"Open {name}").click()
    shots(page, "automations")
