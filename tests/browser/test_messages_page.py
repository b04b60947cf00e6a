"""The Messages page (#/messages): conversations that follow the stream with each recipient's
delivery state, dead letters and their resend, channels with bindings and the routing dry
run, and the agent page's inbox; axe and screenshots at both sizes."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import Relay, axe, screenshot, sign_in
from tests.browser.fleet_support import SIZES, agent, wait_for
from tests.browser.fleet_support import unique as unique_id


def unique(prefix: str) -> str:
    """Names that sort after test_a11y's "worker N" agents: its phone-sized Fleet list is virtual
    and it clicks "worker 0", which must stay in the first screenful whatever ran before."""
    return unique_id(f"xm-{prefix}")


def send(relay: Relay, to: str, body: str, **fields: Any) -> dict[str, Any]:
    sent: dict[str, Any] = relay.call(
        "POST", "/api/messages", json={"to": to, "body": body, **fields}
    )
    return sent


def open_messages(page: Page, relay: Relay, query: str) -> None:
    sign_in(page, relay)
    page.evaluate("(query) => { location.hash = `#/messages?${query}`; }", query)
    expect(page.locator("nav a[aria-current=page]")).to_have_attribute("href", "#/messages")


def open_conversation(page: Page, agent_id: str, title: str) -> None:
    row = page.locator("tr", has_text=title)
    row.get_by_role("button", name=f"Open {title}").click()
    expect(page.get_by_role("heading", level=2, name=title)).to_be_visible()


def delivery(page: Page, message_id: str, agent_id: str) -> Any:
    return page.locator(f"[data-message='{message_id}'] [data-agent='{agent_id}']")


def test_a_sent_message_appears_live_with_its_delivery_state(page: Page, relay: Relay) -> None:
    sender, recipient = unique("alice"), unique("bob")
    agent(relay, sender)
    agent(relay, recipient)
    send(relay, recipient, "the first one", **{"from": sender})
    open_messages(page, relay, f"agent={recipient}")
    title = f"{sender} ↔ {recipient}"
    open_conversation(page, recipient, title)
    expect(page.locator(".message-list")).to_contain_text("the first one")
    # Sent while the page is open: it appears, in seq order, without a reload.
    second = send(relay, recipient, "hello live\nsecond line", ackRequired=True, **{"from": sender})
    message = second["message"]
    item = page.locator(f"[data-message='{message['id']}']")
    expect(item).to_contain_text("hello live", timeout=5000)
    expect(item).to_contain_text("#2")
    expect(page.locator(".message-list > li").first).to_contain_text("the first one")
    expect(delivery(page, message["id"], recipient)).to_contain_text("queued")
    # Its delivery state follows the recipient's inbox: leased on fetch, acked on ack.
    inbox = relay.call("GET", f"/api/agents/{recipient}/inbox", params={"limit": 10})
    expect(delivery(page, message["id"], recipient)).to_contain_text("leased", timeout=5000)
    relay.call("POST", f"/api/agents/{recipient}/inbox/ack", json={"leaseId": inbox["leaseId"]})
    expect(delivery(page, message["id"], recipient)).to_contain_text("acked", timeout=5000)


def test_a_dead_letter_can_be_resent(page: Page, relay: Relay) -> None:
    sender, recipient = unique("carol"), unique("dave")
    agent(relay, sender)
    agent(relay, recipient)
    uploaded = relay.http.post(
        "/api/artifacts", params={"name": "notes.txt"}, content=b"the notes\n"
    )
    assert uploaded.status_code == 201, uploaded.text
    artifact_id = uploaded.json()["artifact"]["id"]
    sent = send(
        relay,
        recipient,
        "never acked",
        ackRequired=True,
        maxAttempts=1,
        attachments=[{"artifactId": artifact_id}],
        **{"from": sender},
    )
    message_id = sent["message"]["id"]
    relay.call("GET", f"/api/agents/{recipient}/inbox", params={"lease": 5})

    def dead() -> bool:
        relay.call("POST", "/api/maintenance/jobs/inbox-lease-expiry/run")
        states = relay.call("GET", f"/api/messages/{message_id}/deliveries")
        return bool(states[0]["state"] == "dead_lettered")

    wait_for(dead, "the lease to expire into a dead letter", timeout=20)
    open_messages(page, relay, f"agent={recipient}")
    title = f"{sender} ↔ {recipient}"
    open_conversation(page, recipient, title)
    expect(delivery(page, message_id, recipient)).to_contain_text("dead lettered")
    page.get_by_role("button", name=f"Resend message 1 to {recipient}").click()
    resent = page.locator("[data-seq='2']")
    expect(resent).to_contain_text("never acked", timeout=5000)
    expect(resent.locator(f"[data-agent='{recipient}']")).to_contain_text("queued")
    conversations = relay.call("GET", "/api/conversations", params={"agentId": recipient})
    conversation = sent["message"]["conversationId"]
    assert [c["lastSeq"] for c in conversations if c["id"] == conversation] == [2]
    # The new message carries the same artifacts as the dead letter.
    messages = relay.call("GET", f"/api/conversations/{conversation}/messages")["messages"]
    assert [[a["artifactId"] for a in m["attachments"]] for m in messages] == [
        [artifact_id],
        [artifact_id],
    ]


def test_the_dry_run_lists_the_expected_agent(page: Page, relay: Relay) -> None:
    tag = unique("reviewer")
    target, other = unique("rev"), unique("bystander")
    agent(relay, target, tags=[tag])
    agent(relay, other)
    channel = unique("reviews")
    relay.call("POST", "/api/channels", json={"id": channel, "description": "code reviews"})
    relay.call(
        "POST",
        f"/api/channels/{channel}/bindings",
        json={"mode": "broadcast", "targetType": "tag", "target": tag},
    )
    open_messages(page, relay, f"tab=channels&channel={channel}")
    detail = page.get_by_role("region", name=f"Channel {channel}")
    expect(detail).to_contain_text(tag)
    detail.get_by_role("button", name="Dry run").click()
    result = detail.locator(".route-result")
    expect(result.locator(f"[data-agent='{target}']")).to_contain_text(f"matched by tag {tag}")
    expect(result).not_to_contain_text(other)
    # The channel's own conversation: empty until its first message, which then appears live
    # with the delivery of the agent the dry run named.
    in_channel = detail.get_by_role("region", name=f"Messages in #{channel}")
    expect(in_channel).to_contain_text("No messages yet.")
    posted = relay.call(
        "POST", "/api/messages", json={"channelId": channel, "body": "please review #42"}
    )
    expect(in_channel).to_contain_text("please review #42", timeout=5000)
    assert [d["agentId"] for d in posted["deliveries"]] == [target]
    expect(delivery(page, posted["message"]["id"], target)).to_contain_text("queued")
    # From the bound agent itself: the sender is never a target.
    detail.get_by_label("Sender").select_option(target)
    detail.get_by_role("button", name="Dry run").click()
    expect(result).to_have_text("No agent would receive it.")


def test_creating_a_channel_and_a_binding_from_the_page(page: Page, relay: Relay) -> None:
    target = unique("bound")
    agent(relay, target)
    channel = unique("ops")
    open_messages(page, relay, "tab=channels")
    page.get_by_label("Channel id").fill(channel)
    page.get_by_label("Description").fill("operations")
    page.get_by_role("button", name="Create channel").click()
    detail = page.get_by_role("region", name=f"Channel {channel}")
    expect(detail).to_contain_text("No bindings")
    form = detail.get_by_role("form", name="Add a binding")
    form.get_by_label("Mode").select_option("exclusive")
    form.get_by_label("Target", exact=True).fill(target)
    form.get_by_role("button", name="Add binding").click()
    expect(detail.locator(".binding-table")).to_contain_text(target)
    bindings = relay.call("GET", f"/api/channels/{channel}/bindings")
    assert [(b["mode"], b["targetType"], b["target"]) for b in bindings] == [
        ("exclusive", "agent", target)
    ]
    expect(page.locator(f"tr[data-channel='{channel}']")).to_contain_text("1")
    # The same binding twice: the server's 409, shown by the form, nothing added.
    form.get_by_label("Mode").select_option("exclusive")
    form.get_by_label("Target", exact=True).fill(target)
    form.get_by_role("button", name="Add binding").click()
    expect(form.get_by_role("alert")).to_contain_text("binding already exists")
    assert len(relay.call("GET", f"/api/channels/{channel}/bindings")) == 1
    # Removing it from the page.
    detail.get_by_role("button", name=f"Remove binding agent {target}").click()
    expect(detail).to_contain_text("No bindings")
    assert relay.call("GET", f"/api/channels/{channel}/bindings") == []


def test_an_invalid_channel_id_shows_the_servers_error(page: Page, relay: Relay) -> None:
    open_messages(page, relay, "tab=channels")
    page.get_by_label("Channel id").fill("Not Valid")
    page.get_by_role("button", name="Create channel").click()
    expect(page.get_by_role("form", name="New channel").get_by_role("alert")).to_be_visible()
    assert all(c["id"] != "Not Valid" for c in relay.call("GET", "/api/channels"))


def test_the_agent_page_shows_its_inbox(page: Page, relay: Relay) -> None:
    recipient = unique("inboxed")
    agent(relay, recipient)
    send(relay, recipient, "waiting for you")
    sign_in(page, relay)
    page.goto(f"{relay.url}/#/agents/{recipient}")
    inbox = page.get_by_role("region", name="Inbox", exact=True)
    expect(inbox).to_contain_text("waiting for you")
    expect(inbox).to_contain_text("queued")
    # Peeking changed nothing: the delivery is still queued.
    deliveries = relay.call("GET", "/api/agents/" + recipient + "/inbox", params={"peek": "true"})
    assert [item["state"] for item in deliveries["items"]] == ["queued"]
    send(relay, recipient, "and another")
    expect(inbox).to_contain_text("and another", timeout=5000)


def test_messages_page_is_axe_clean_at_both_sizes(page: Page, relay: Relay) -> None:
    sender, recipient = unique("erin"), unique("frank")
    agent(relay, sender, tags=["axe"])
    agent(relay, recipient)
    send(relay, recipient, "an accessible message", importance="high", **{"from": sender})
    channel = unique("axe")
    relay.call("POST", "/api/channels", json={"id": channel})
    relay.call(
        "POST",
        f"/api/channels/{channel}/bindings",
        json={"mode": "broadcast", "targetType": "tag", "target": "axe"},
    )
    open_messages(page, relay, f"agent={recipient}")
    open_conversation(page, recipient, f"{sender} ↔ {recipient}")
    expect(page.locator(".message-list")).to_contain_text("an accessible message")
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        axe(page)
        assert page.evaluate("document.scrollingElement.scrollWidth - innerWidth") <= 0
    screenshot(page, "messages-conversation")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.get_by_role("tab", name="Channels").click()
    page.get_by_role("button", name=f"Open channel {channel}").click()
    detail = page.get_by_role("region", name=f"Channel {channel}")
    detail.get_by_role("button", name="Dry run").click()
    expect(detail.locator(f".route-result [data-agent='{sender}']")).to_be_visible()
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        axe(page)
        assert page.evaluate("document.scrollingElement.scrollWidth - innerWidth") <= 0
    screenshot(page, "messages-channels")


def test_a_read_only_token_sees_channels_but_cannot_change_them(page: Page, relay: Relay) -> None:
    channel = unique("readonly")
    relay.call("POST", "/api/channels", json={"id": channel})
    relay.call(
        "POST",
        f"/api/channels/{channel}/bindings",
        json={"mode": "broadcast", "targetType": "tag", "target": "nobody"},
    )
    issued = relay.call(
        "POST",
        "/api/tokens",
        json={
            "sub": "reader",
            "profile": "dashboard",
            "scope": ["agent:read", "message:read", "activity:read"],
        },
    )
    sign_in(page, relay, issued["token"])
    page.evaluate("(c) => { location.hash = `#/messages?tab=channels&channel=${c}`; }", channel)
    expect(
        page.get_by_text("Your token cannot change channels (needs config:write).")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Create channel")).to_have_count(0)
    expect(page.get_by_role("button", name=f"Delete channel {channel}")).to_have_count(0)
    detail = page.get_by_role("region", name=f"Channel {channel}")
    expect(detail).to_contain_text("nobody")
    expect(detail.get_by_role("button", name="Remove binding tag nobody")).to_have_count(0)
    expect(detail.get_by_role("form", name="Add a binding")).to_have_count(0)
    # The dry run is a read: still offered.
    detail.get_by_role("button", name="Dry run").click()
    expect(detail.locator(".route-result")).to_have_text("No agent would receive it.")


def test_a_token_without_message_read_is_told_why(page: Page, relay: Relay) -> None:
    issued = relay.call(
        "POST",
        "/api/tokens",
        json={
            "sub": "no-messages",
            "profile": "dashboard",
            "scope": ["agent:read", "activity:read"],
        },
    )
    sign_in(page, relay, issued["token"])
    page.evaluate("() => { location.hash = '#/messages'; }")
    expect(
        page.get_by_text("Your token cannot read messages (needs message:read).")
    ).to_be_visible()
