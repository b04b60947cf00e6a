"""An automation that spawns belongs, for a constrained caller, to the hosts and policies
its constraints cover: a token limited to one host may neither disable, change nor delete
another host's spawn automation (403, nothing changed), nor read it."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors import automations
from relay.domain.automations import AutomationChanges
from tests.conftest import bearer
from tests.http.helpers import H, register_orchestrator
from tests.http.integration_setup import agent, message_to, save_automation


async def _limited_to_o1(client: Any, mint: Any) -> dict[str, str]:
    await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    for name, host in (("p1", "o1"), ("p2", "o2")):
        policy = {"value": {"provider": "claude", "cwd": f"/srv/{host}/work"}}
        put = await client.put(f"/api/config/spawn-policies/{name}", json=policy, headers=H)
        assert put.status_code in (200, 201), await put.get_data()
    return bearer(
        mint(
            ["config:read", "config:write", "command:write", "message:write"],
            {"orchestrators": ["o1"], "policyNames": ["p1"]},
            sub="ops-o1",
            role="dashboard",
        )
    )


def _spawn_on(host: str, policy: str) -> dict[str, Any]:
    return {"type": "spawn_agent", "orchestratorId": host, "policyName": policy}


async def test_a_token_limited_to_one_host_cannot_disable_or_delete_anothers_spawn_automation(
    client: Any, mint: Any
) -> None:
    """The token may not spawn on o2 by p2, so it may not disable, rename or delete the
    operator's automation that does: 403 ``forbidden``, the automation as it was."""
    limited = await _limited_to_o1(client, mint)
    saved = await save_automation(client, "o2-nightly", _spawn_on("o2", "p2"))
    url = f"/api/automations/{saved['id']}"

    for change in ({"enabled": False}, {"name": "renamed"}):
        refused = await client.patch(url, json=change, headers=limited)
        assert (refused.status_code, await refused.get_json()) == (403, {"error": "forbidden"})
    deleted = await client.delete(url, headers=limited)
    assert (deleted.status_code, await deleted.get_json()) == (403, {"error": "forbidden"})
    stored = await client.get(url, headers=H)
    assert stored.status_code == 200
    assert await stored.get_json() == saved


async def test_a_token_limited_to_one_host_manages_its_own_hosts_spawn_automation(
    client: Any, mint: Any
) -> None:
    """The same token disables and deletes an automation that spawns on o1 by p1, and a
    message automation (no host)."""
    limited = await _limited_to_o1(client, mint)
    await agent(client, "a1")
    own = await save_automation(client, "o1-nightly", _spawn_on("o1", "p1"))
    ping = await save_automation(client, "ping", message_to("a1", "ping"))
    for saved in (own, ping):
        url = f"/api/automations/{saved['id']}"
        disabled = await client.patch(url, json={"enabled": False}, headers=limited)
        assert disabled.status_code == 200, await disabled.get_data()
        assert (await disabled.get_json())["enabled"] is False
        deleted = await client.delete(url, headers=limited)
        assert deleted.status_code == 200, await deleted.get_data()


async def test_a_token_limited_to_one_host_does_not_read_anothers_spawn_automation(
    client: Any, mint: Any
) -> None:
    """Listing shows the token its own host's spawn automation and not o2's; reading
    o2's, or its dispatches, is 403. The operator sees both."""
    limited = await _limited_to_o1(client, mint)
    own = await save_automation(client, "o1-nightly", _spawn_on("o1", "p1"))
    other = await save_automation(client, "o2-nightly", _spawn_on("o2", "p2"))

    listed = await client.get("/api/automations", headers=limited)
    assert [a["id"] for a in await listed.get_json()] == [own["id"]]
    everything = await client.get("/api/automations", headers=H)
    assert [a["id"] for a in await everything.get_json()] == [own["id"], other["id"]]
    for path in ("", "/dispatches"):
        hidden = await client.get(f"/api/automations/{other['id']}{path}", headers=limited)
        assert hidden.status_code == 403, await hidden.get_data()
        shown = await client.get(f"/api/automations/{own['id']}{path}", headers=limited)
        assert shown.status_code == 200, await shown.get_data()


async def test_a_delete_refuses_an_automation_changed_since_its_check(
    client: Any, mint: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-pointed at o2 between the route's check and the delete, the token's delete is
    refused (409) and the automation stays."""
    limited = await _limited_to_o1(client, mint)
    await agent(client, "a1")
    saved = await save_automation(client, "ping", message_to("a1", "ping"))
    real_delete = automations.delete

    async def changed_first(rt: Any, actor: str, automation_id: str, *args: Any) -> Any:
        changes = AutomationChanges(action=_spawn_on("o2", "p2"))
        await automations.update(rt, "root", automation_id, changes, None)
        return await real_delete(rt, actor, automation_id, *args)

    monkeypatch.setattr(automations, "delete", changed_first)
    url = f"/api/automations/{saved['id']}"
    deleted = await client.delete(url, headers=limited)
    assert deleted.status_code == 409, await deleted.get_data()
    assert (await client.get(url, headers=H)).status_code == 200
