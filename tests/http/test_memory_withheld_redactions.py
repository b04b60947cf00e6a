"""A write's reply lists ``redactions`` only for the text the caller may read: a caller that
may change, but not read, a ``secret`` memory (its title and body come back ``null`` with
``withheld: true``) learns nothing of that text from pattern names and counts — over the
route and the MCP ``memory_write`` tool alike."""

from __future__ import annotations

from typing import Any

import pytest

from relay.auth.tokens import TokenSpec
from relay.clock import ManualClock
from relay.http.app import create_app
from relay.settings import Settings
from tests.conftest import bearer, services_of
from tests.http.helpers import H
from tests.http.test_mcp import mcp_token
from tests.http.test_mcp_messages import ok
from tests.http.test_memory import created, patch
from tests.http.test_memory_redaction import env_settings
from tests.http.test_messages import agent

SCOPES = ["memory:read", "memory:write", "activity:read"]
TICKETS = '[{"name": "ticket", "pattern": "TKT-[0-9]{6}"}]'


async def _secret_of_a1(settings: Settings, clock: ManualClock) -> dict[str, Any]:
    """An operator's secret memory in a1's agent scope, written before the ticket pattern
    existed (its text is stored as written)."""
    first = create_app(settings, clock=clock)
    async with first.test_app() as app:
        client = app.test_client()
        await agent(client, "a1", meta={"cwd": "/srv/one"})
        return await created(
            client,
            scope="agent",
            scopeKey="a1",
            sensitivity="secret",
            title="vault TKT-111111",
            body="TKT-123456 and TKT-654321",
            tags=["TKT-999999"],
        )


async def test_a_patch_reply_names_no_redaction_of_a_withheld_title_or_body(
    settings: Settings, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """a1 may change (not read) a secret memory an operator wrote in its agent scope. Once
    a pattern matching its text is added, a1's PATCH of the tags answers with the title and
    body withheld and no redaction entry about them; what a1 does see (its tags) is still
    reported. The operator, who reads the text, gets every entry."""
    secret = await _secret_of_a1(settings, clock)
    second = create_app(env_settings(settings, monkeypatch, TICKETS), clock=clock)
    async with second.test_app() as app:
        client = app.test_client()
        spec = TokenSpec(
            sub="a1", role="agent", scope=tuple(SCOPES), constraints={"agents": ["a1"]}
        )
        a1 = bearer(services_of(app).auth.mint(spec)[0])
        changed = await patch(client, secret["id"], 1, a1, tags=["vault", "TKT-222222"])
        assert changed.status_code == 200, await changed.get_data()
        reply = await changed.get_json()
        assert (reply["title"], reply["body"], reply["withheld"]) == (None, None, True)
        assert reply["redactions"] == [{"field": "tags", "name": "ticket", "count": 1}]
        assert "TKT-" not in str(reply)

        # The operator reads the text: the reply names what was replaced in it too.
        again = await patch(client, secret["id"], 2, H, title="vault TKT-333333")
        assert again.status_code == 200, await again.get_data()
        fields = {r["field"] for r in (await again.get_json())["redactions"]}
        assert fields == {"title"}


async def test_memory_write_over_mcp_names_no_redaction_of_a_withheld_body(
    settings: Settings, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The MCP ``memory_write`` update answers as the route does: a1, which may not read
    the secret memory's text, gets no redaction entry about its title or body."""
    secret = await _secret_of_a1(settings, clock)
    second = create_app(env_settings(settings, monkeypatch, TICKETS), clock=clock)
    async with second.test_app() as app:
        client = app.test_client()
        token = await mcp_token(client, "a1")
        reply = await ok(client, token, "memory_write", id=secret["id"], version=1, tags=["vault"])
        assert (reply["title"], reply["body"], reply["withheld"]) == (None, None, True)
        assert reply["redactions"] == []
