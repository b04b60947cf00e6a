"""Tasks at their edges: odd agent metadata, a notice the store cannot check, automation
input longer than a task keeps, result sizes in UTF-8, which check answers first."""

from __future__ import annotations

from typing import Any

import pytest

from relay.errors import Unavailable
from tests.conftest import bearer
from tests.http.helpers import H
from tests.http.integration_setup import CI_H, app  # noqa: F401  (app: with integration ci)
from tests.http.test_messages import agent, error_of
from tests.http.test_tasks import claim, claimed, create, get, status

WRITE = ["task:read", "task:write"]


# -- medium: 500s and half-applied changes ----------------------------------------------


async def test_an_agent_publishing_capabilities_as_objects_can_still_claim(client: Any) -> None:
    # meta is free JSON; an agent describing its capabilities as objects must not turn
    # every claim it makes into a 500 (rules.eligible: set() of unhashable items).
    await agent(client, "a1", meta={"capabilities": [{"name": "py"}, ["go"]]})
    plain = await create(client)
    response = await claim(client, plain["id"], agentId="a1")
    assert response.status_code == 200, await response.get_data()
    assert (await response.get_json())["task"]["assignee"] == "a1"
    later = await create(client)
    response = await claim(client, None, agentId="a1")
    assert response.status_code == 200, await response.get_data()
    assert (await response.get_json())["task"]["id"] == later["id"]
    # A string requirement is not met by an object: a clear 409, not a 500.
    needs_py = await create(client, routingHints={"requiredCapabilities": ["py"]})
    response = await claim(client, needs_py["id"], agentId="a1")
    assert await error_of(response) == (409, "agent does not match the task's routing hints")


async def test_a_creator_notice_the_store_cannot_check_does_not_fail_a_committed_report(
    client: Any, mint: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tasking/flows.py: notices are courtesies that follow a committed change, "never an
    # error for the caller whose change is already made". The creator check is outside the
    # try: a store hiccup there answers 503 for a completion that was committed, and the
    # client's retry then gets 409 "task is completed".
    from relay.actors.tasking import flows

    await agent(client, "a1")
    await agent(client, "a2")
    task = await create(client, bearer(mint(WRITE, {"agents": ["a1"]})))
    await claimed(client, task["id"], "a2")

    async def down(*_args: Any, **_kwargs: Any) -> Any:
        raise Unavailable("store unavailable")

    monkeypatch.setattr(flows, "orchestrators_of", down)
    response = await status(client, task["id"], status="completed")
    monkeypatch.undo()
    assert response.status_code == 200, await response.get_data()
    assert (await response.get_json())["status"] == "completed"
    assert (await get(client, task["id"]))["status"] == "completed"


async def _save_automation(client: Any, task_body: dict[str, Any]) -> dict[str, Any]:
    body = {
        "name": "auto",
        "trigger": {"type": "event", "eventType": "pull_request.*"},
        "action": {"type": "create_task", "task": task_body},
    }
    response = await client.post("/api/automations", json=body, headers=H)
    assert response.status_code == 201, await response.get_data()
    saved: dict[str, Any] = await response.get_json()
    return saved


async def test_an_event_whose_subject_makes_a_long_context_id_is_not_a_500_nor_lost(
    client: Any,
) -> None:
    # A valid event (subject ≤ 500) rendered into a task's contextId (≤ 64 in the store):
    # tasks.create trusts the Task it is given, the store's length check raises, and the
    # event route answers 500 after storing the event, so the sender's retry is a
    # "duplicate" and nothing is ever dispatched. The dispatch must fail, the event 201.
    automation = await _save_automation(client, {"title": "t", "contextId": "{{event.subject}}"})
    headers = {**CI_H, "X-Delivery-Id": "d-1"}
    event = {"type": "pull_request.opened", "subject": "s" * 100}
    response = await client.post("/api/integrations/ci/events", json=event, headers=headers)
    assert response.status_code == 201, await response.get_data()
    [dispatch] = (await response.get_json())["dispatches"]
    assert dispatch["automationId"] == automation["id"]
    assert dispatch["status"] == "failed"
    assert dispatch["error"].startswith("contextId")
    listed = await (await client.get("/api/tasks", headers=H)).get_json()
    assert listed == []


async def test_an_automation_run_templating_a_long_dependency_id_fails_the_dispatch(
    client: Any,
) -> None:
    # The route refuses a dependsOn id longer than a task id (400); tasks.create, as an
    # automation reaches it, hands it to the store's filter, whose length check is a 500.
    automation = await _save_automation(
        client, {"title": "t", "dependsOn": ["tsk_{{event.subject}}"]}
    )
    url = f"/api/automations/{automation['id']}/run"
    response = await client.post(url, json={"event": {"subject": "x" * 40}}, headers=H)
    assert response.status_code == 200, await response.get_data()
    result = await response.get_json()
    assert result["status"] == "failed"
    assert result["error"] in ("task not found", "dependsOn.0 must be at most 36 characters")


# -- low: spec nits ----------------------------------------------------------------------


async def test_the_result_limit_counts_utf8_bytes_not_ascii_escapes(client: Any) -> None:
    # result is "JSON ≤ 64 KiB": 20,000 "é" are 40,002 bytes of JSON, but the check
    # measures json.dumps with ensure_ascii (6 bytes per "é": 120,002) and refuses it.
    await agent(client, "a1")
    task = await create(client)
    await claimed(client, task["id"])
    response = await status(client, task["id"], status="working", result="é" * 20_000)
    assert response.status_code == 200, await response.get_data()
    assert (await response.get_json())["result"] == "é" * 20_000


async def test_a_non_assignee_reporting_with_an_artifact_is_told_it_is_not_assigned(
    client: Any, mint: Any
) -> None:
    # The artifacts are looked up before the caller is judged: a2, not the assignee, is
    # answered about the artifact (404 / 403) instead of "task is not assigned to you",
    # and on a final task instead of "task is completed".
    await agent(client, "a1")
    await agent(client, "a2")
    task = await create(client)
    await claimed(client, task["id"], "a1")
    a2 = bearer(mint(WRITE, {"agents": ["a2"]}))
    refs = [{"artifactId": "art_" + "0" * 32}]
    response = await status(client, task["id"], a2, status="working", artifacts=refs)
    assert await error_of(response) == (409, "task is not assigned to you")
    await status(client, task["id"], status="completed")
    response = await status(client, task["id"], status="working", artifacts=refs)
    assert await error_of(response) == (409, "task is completed")


async def test_integer_fields_refuse_booleans(client: Any) -> None:
    # pydantic's lax mode reads true as 1: maxAttempts=true makes a task of one attempt
    # and version=true passes the version check of a version-1 task.
    response = await client.post("/api/tasks", json={"title": "t", "maxAttempts": True}, headers=H)
    assert response.status_code == 400, await response.get_data()
    assert await error_of(response) == (400, "maxAttempts must be an integer")
    task = await create(client)
    response = await client.patch(
        f"/api/tasks/{task['id']}", json={"title": "x", "version": True}, headers=H
    )
    assert response.status_code == 400, await response.get_data()
    assert await error_of(response) == (400, "version must be an integer")
    assert (await get(client, task["id"]))["title"] == "t"


@pytest.mark.parametrize("result", ["done", "[1]", '"quoted"', "", {"k": "v"}, 7, None])
async def test_a_result_is_kept_as_given(client: Any, result: Any) -> None:
    # A task's result is any JSON: a string that is not JSON text was a 500 (the store's
    # JSON column took a str for encoded JSON), and one that is came back decoded.
    await agent(client, "a1")
    task = await create(client)
    await claimed(client, task["id"])
    response = await status(client, task["id"], status="completed", result=result)
    assert response.status_code == 200, await response.get_data()
    assert (await response.get_json())["result"] == result
    assert (await get(client, task["id"]))["result"] == result
