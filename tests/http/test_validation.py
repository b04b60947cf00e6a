"""Bodies and field messages as tables, without starting the app.

``read_object`` runs in a bare request context (no store, no actors); the request models run
through ``validate``. The HTTP tests (test_errors.py) prove the wiring for a few rows.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel
from quart_trio import QuartTrio

from relay.errors import Invalid
from relay.http.activity import ActivityBody
from relay.http.agents import PatchAgentBody, RegisterAgentBody, TimelineBody
from relay.http.messages import SendMessageBody
from relay.http.validation import read_object, validate
from relay.http.workspaces import ActionBody
from tests.conftest import root_headers


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(b"", "body required", id="empty"),
        pytest.param(b"   \n", "body required", id="blank"),
        pytest.param(b"[]", "body required", id="array"),
        pytest.param(b'[{"id": "a1"}]', "body required", id="array-of-objects"),
        pytest.param(b'"a1"', "body required", id="string"),
        pytest.param(b"42", "body required", id="number"),
        pytest.param(b"true", "body required", id="boolean"),
        pytest.param(b"null", "body required", id="null"),
        pytest.param(b"{not json", "invalid JSON body", id="not-json"),
        pytest.param(b'{"id": "a1"', "invalid JSON body", id="truncated"),
        pytest.param(b'{"id": "a1"} x', "invalid JSON body", id="trailing-garbage"),
        pytest.param(b"\xff\xfe{}", "invalid JSON body", id="not-utf8"),
        # What Python's json takes and nothing downstream can encode (issue 16).
        pytest.param(b'{"k": "\\ud800"}', "invalid JSON body", id="lone-high-surrogate"),
        pytest.param(b'{"k": "\\udc00x"}', "invalid JSON body", id="lone-low-surrogate"),
        pytest.param(b'{"\\ud800": 1}', "invalid JSON body", id="lone-surrogate-key"),
        pytest.param(b'{"k": "\xed\xa0\x80"}', "invalid JSON body", id="raw-surrogate"),
        pytest.param(b'{"k": NaN}', "invalid JSON body", id="nan"),
        pytest.param(b'{"k": Infinity}', "invalid JSON body", id="infinity"),
        pytest.param(b'{"k": [-Infinity]}', "invalid JSON body", id="minus-infinity"),
        pytest.param(b'{"k": 1e400}', "invalid JSON body", id="overflows-to-infinity"),
        pytest.param(b'{"k": -1E999}', "invalid JSON body", id="overflows-to-minus-infinity"),
        pytest.param(b"[" * 100_000, "body is nested too deeply", id="deep"),
    ],
)
async def test_unusable_body_is_refused(raw: bytes, message: str) -> None:
    async with QuartTrio(__name__).test_request_context("/", method="POST", data=raw):
        with pytest.raises(Invalid) as raised:
            await read_object()
    assert raised.value.message == message


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        (b"{}", {}),
        (b' \n{"id": "a1"}\n', {"id": "a1"}),
        ('{"name": "Zoë"}'.encode(), {"name": "Zoë"}),
        (b'{"k": "\\ud83d\\ude00"}', {"k": "\U0001f600"}),  # an escaped pair is one character
        (b'{"k": 1e308, "n": 1180591620717411303424}', {"k": 1e308, "n": 2**70}),
    ],
)
async def test_json_object_body_is_read(raw: bytes, parsed: dict[str, Any]) -> None:
    async with QuartTrio(__name__).test_request_context("/", method="POST", data=raw):
        assert await read_object() == parsed


@pytest.mark.parametrize(
    ("model", "body", "message"),
    [
        (RegisterAgentBody, {}, "id is required"),
        (RegisterAgentBody, {"name": "x"}, "id is required"),
        (RegisterAgentBody, {"id": 5}, "id must be a string"),
        (RegisterAgentBody, {"id": None}, "id must be a string"),
        (RegisterAgentBody, {"id": ""}, "id must not be empty"),
        (RegisterAgentBody, {"id": "a" * 201}, "id must be at most 200 characters"),
        (RegisterAgentBody, {"id": "a b"}, "id has an invalid format"),
        (RegisterAgentBody, {"id": "a/b"}, "id has an invalid format"),
        (RegisterAgentBody, {"id": "a", "name": "x" * 201}, "name must be at most 200 characters"),
        (RegisterAgentBody, {"id": "a", "name": ""}, "name must not be empty"),
        (RegisterAgentBody, {"id": "a", "name": 3}, "name must be a string"),
        (RegisterAgentBody, {"id": "a", "kind": "k" * 65}, "kind must be at most 64 characters"),
        (RegisterAgentBody, {"id": "a", "tags": "x"}, "tags must be an array"),
        (RegisterAgentBody, {"id": "a", "tags": ["ok", 1]}, "tags.1 must be a string"),
        (RegisterAgentBody, {"id": "a", "tags": ["t"] * 101}, "tags must have at most 100 items"),
        (RegisterAgentBody, {"id": "a", "ready": "maybe"}, "ready must be a boolean"),
        (RegisterAgentBody, {"id": "a", "meta": []}, "meta must be an object"),
        (RegisterAgentBody, {"id": "a", "meta": "m"}, "meta must be an object"),
        (RegisterAgentBody, {"id": "a", "orchestratorId": ""}, "orchestratorId must not be empty"),
        (
            RegisterAgentBody,
            {"id": "a", "providerCapabilities": 1},
            "providerCapabilities must be an object",
        ),
        (PatchAgentBody, {"name": "x" * 201}, "name must be at most 200 characters"),
        (PatchAgentBody, {"ready": "maybe"}, "ready must be a boolean"),
        (PatchAgentBody, {"tags": {"a": 1}}, "tags must be an array"),
        (PatchAgentBody, {"meta": ["x"]}, "meta must be an object"),
        (TimelineBody, {}, "title is required"),
        (TimelineBody, {"title": ""}, "title must not be empty"),
        (TimelineBody, {"title": "t", "kind": "k" * 65}, "kind must be at most 64 characters"),
        (TimelineBody, {"title": "t", "kind": ""}, "kind must not be empty"),
        (TimelineBody, {"title": "t", "metadata": [1]}, "metadata must be an object"),
        (TimelineBody, {"title": "t", "body": 5}, "body must be a string"),
        (ActivityBody, {}, "title is required"),
        (ActivityBody, {"title": "t", "clientId": ""}, "clientId must not be empty"),
        (ActivityBody, {"title": "t", "agentId": 1}, "agentId must be a string"),
    ],
)
def test_invalid_field_is_named_in_the_message(
    model: type[BaseModel], body: dict[str, Any], message: str
) -> None:
    with pytest.raises(Invalid) as raised:
        validate(model, body)
    assert raised.value.message == message
    assert raised.value.status == 400


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (RegisterAgentBody, {"id": "a1"}),
        (RegisterAgentBody, {"id": "a" * 200, "name": "n" * 200, "kind": "k" * 64}),
        (RegisterAgentBody, {"id": "a1", "tags": ["t"] * 100, "unknownField": 1}),
        (PatchAgentBody, {}),
        (TimelineBody, {"title": "t", "kind": "k" * 64}),
    ],
)
def test_valid_body_at_the_limits_is_accepted(model: type[BaseModel], body: dict[str, Any]) -> None:
    validate(model, body)


def test_timeline_kind_defaults_to_note() -> None:
    assert validate(TimelineBody, {"title": "t"}).kind == "note"


async def test_deeply_nested_body_is_400_not_500(client: Any) -> None:
    response = await client.post(
        "/api/agents",
        data=b"[" * 100_000,
        headers={**root_headers(), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert await response.get_json() == {"error": "body is nested too deeply"}


# -- booleans are booleans: the Body base refuses what pydantic's lax mode would coerce --------

NOT_BOOLEANS = [0, 1, "yes", "true", "off", 1.0, [], {}]


@pytest.mark.parametrize("value", NOT_BOOLEANS)
@pytest.mark.parametrize(
    ("model", "base", "field"),
    [
        (RegisterAgentBody, {"id": "a1"}, "ready"),
        (PatchAgentBody, {}, "ready"),
        (ActionBody, {"action": "merge"}, "deleteBranch"),
    ],
)
def test_bool_fields_refuse_anything_but_true_and_false(
    model: type[BaseModel], base: dict[str, Any], field: str, value: Any
) -> None:
    with pytest.raises(Invalid) as raised:
        validate(model, {**base, field: value})
    assert raised.value.message == f"{field} must be a boolean"


def test_optional_bool_takes_true_false_and_null() -> None:
    assert validate(PatchAgentBody, {"ready": False}).ready is False
    assert validate(PatchAgentBody, {"ready": True}).ready is True
    assert validate(PatchAgentBody, {"ready": None}).ready is None
    assert validate(ActionBody, {"action": "merge", "deleteBranch": False}).delete_branch is False


@pytest.mark.parametrize("value", [0, "yes"])
async def test_non_boolean_ready_is_400_and_changes_nothing(client: Any, value: Any) -> None:
    headers = root_headers()
    created = await client.post("/api/agents", json={"id": "a1", "ready": True}, headers=headers)
    assert created.status_code == 201

    patched = await client.patch("/api/agents/a1", json={"ready": value}, headers=headers)
    assert patched.status_code == 400
    assert await patched.get_json() == {"error": "ready must be a boolean"}
    registered = await client.post(
        "/api/agents", json={"id": "a2", "ready": value}, headers=headers
    )
    assert registered.status_code == 400
    assert await registered.get_json() == {"error": "ready must be a boolean"}

    assert (await (await client.get("/api/agents/a1", headers=headers)).get_json())["ready"] is True
    assert (await client.get("/api/agents/a2", headers=headers)).status_code == 404


@pytest.mark.parametrize("value", [True, False])
@pytest.mark.parametrize(
    ("model", "base", "field"),
    [
        (SendMessageBody, {"to": "a1", "body": "hi"}, "maxAttempts"),
        (SendMessageBody, {"to": "a1", "body": "hi"}, "ttlSeconds"),
    ],
)
def test_number_fields_refuse_booleans(
    model: type[BaseModel], base: dict[str, Any], field: str, value: bool
) -> None:
    """pydantic's lax mode reads ``true`` as 1: a client sending it has a bug to hear of."""
    with pytest.raises(Invalid) as raised:
        validate(model, {**base, field: value})
    assert raised.value.message == f"{field} must be an integer"


def test_number_fields_still_take_numbers_and_null() -> None:
    body = validate(SendMessageBody, {"to": "a1", "body": "hi", "maxAttempts": 3})
    assert body.max_attempts == 3
    no_ttl = validate(SendMessageBody, {"to": "a1", "body": "hi", "ttlSeconds": None})
    assert no_ttl.ttl_seconds is None


async def test_a_boolean_max_attempts_is_400_and_sends_nothing(client: Any) -> None:
    headers = root_headers()
    assert (await client.post("/api/agents", json={"id": "a1"}, headers=headers)).status_code == 201
    sent = await client.post(
        "/api/messages", json={"to": "a1", "body": "hi", "maxAttempts": True}, headers=headers
    )
    assert sent.status_code == 400
    assert await sent.get_json() == {"error": "maxAttempts must be an integer"}
    inbox = await client.get("/api/agents/a1/inbox", query_string={"peek": "true"}, headers=headers)
    assert inbox.status_code == 200
    assert (await inbox.get_json())["items"] == []


# -- U+0000 never reaches the store (PostgreSQL cannot hold it: it was a 500 there) -----------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"id": "a\\u0000b"}', "id must not contain NUL characters"),
        (b'{"id": "a1", "meta": {"k": ["x", "\\u0000"]}}', "meta must not contain NUL characters"),
        (b'{"id": "a1", "meta": {"k\\u0000": 1}}', "meta must not contain NUL characters"),
        (b'{"id\\u0000": "a1"}', "body must not contain NUL characters"),
    ],
)
async def test_body_with_a_nul_character_is_refused(raw: bytes, message: str) -> None:
    async with QuartTrio(__name__).test_request_context("/", method="POST", data=raw):
        with pytest.raises(Invalid) as raised:
            await read_object()
    assert raised.value.message == message


async def test_escaped_backslash_u0000_text_is_not_a_nul() -> None:
    raw = b'{"id": "a1", "meta": {"k": "\\\\u0000"}}'  # the six characters \u0000
    async with QuartTrio(__name__).test_request_context("/", method="POST", data=raw):
        assert (await read_object())["meta"] == {"k": "\\u0000"}


async def test_nul_in_url_or_body_is_refused_and_stores_nothing(client: Any) -> None:
    headers = root_headers()
    by_path = await client.get("/api/agents/a%00b", headers=headers)
    assert by_path.status_code == 404
    assert await by_path.get_json() == {"error": "not found"}
    for query in ("/api/orchestrators?status=%00", "/api/tokens?sub=a%00", "/api/agents?x%00=1"):
        by_query = await client.get(query, headers=headers)
        assert by_query.status_code == 400, query
        assert await by_query.get_json() == {
            "error": "query parameters must not contain NUL characters"
        }
    by_body = await client.post(
        "/api/activity", json={"title": "t", "metadata": {"k": "a\x00"}}, headers=headers
    )
    assert by_body.status_code == 400
    assert await by_body.get_json() == {"error": "metadata must not contain NUL characters"}
    assert await (await client.get("/api/activity", headers=headers)).get_json() == []


@pytest.mark.parametrize("path", ["/api/agents", "/api/orchestrators"])
async def test_list_status_filter_is_one_of_the_presences(client: Any, path: str) -> None:
    """Any other value was a 500 (the column holds 16 characters) or silently matched nothing."""
    headers = root_headers()
    for value in ("busy", "x" * 17, "a\nb\rc\x85d\x0be\x0cf\u2028g\u2029h\r\ni"):
        response = await client.get(path, query_string={"status": value}, headers=headers)
        assert response.status_code == 400, value
        assert await response.get_json() == {
            "error": "status must be one of online, stale, offline"
        }
    assert (await client.get(f"{path}?status=online", headers=headers)).status_code == 200
