"""``/docs`` in a real browser: Swagger UI renders every operation, from this relay alone."""

from __future__ import annotations

from urllib.parse import urlparse

from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.conftest import Relay, screenshot


def test_docs_render_every_operation_without_leaving_the_relay(page: Page, relay: Relay) -> None:
    requested: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(relay.url + "/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=20_000)
    assert page.locator(".opblock").count() >= 50
    expect(page.locator(".information-container")).to_contain_text("relay")
    screenshot(page, "docs")

    relay_host = urlparse(relay.url).netloc
    elsewhere = [url for url in requested if urlparse(url).netloc not in (relay_host, "")]
    assert elsewhere == []
    assert problems == []
