"""``artifact_put`` over ``POST /mcp``: ``POST /api/artifacts`` as the token's agent, with
the route's messages for every refusal."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from tests.http.helpers import H
from tests.http.test_mcp import mcp_token, rpc
from tests.http.test_mcp_messages import ok, pair, refused


async def put_result(client: Any, token: str, arguments: dict[str, Any]) -> Any:
    response = await rpc(
        client, token, "tools/call", {"name": "artifact_put", "arguments": arguments}
    )
    assert response.status_code == 200, await response.get_data()
    return (await response.get_json())["result"]


async def put(client: Any, token: str, **arguments: Any) -> Any:
    result = await put_result(client, token, arguments)
    assert result.get("isError", False) is False, result["content"]
    return result["structuredContent"]


async def put_refused(client: Any, token: str, **arguments: Any) -> str:
    result = await put_result(client, token, arguments)
    assert result["isError"] is True, result
    text: str = result["content"][0]["text"]
    return text


async def test_listed_with_its_arguments(client: Any) -> None:
    token, _ = await pair(client)
    tools = (await (await rpc(client, token, "tools/list")).get_json())["result"]["tools"]
    [tool] = [t for t in tools if t["name"] == "artifact_put"]
    assert set(tool["inputSchema"]["properties"]) == {
        "name",
        "text",
        "base64",
        "mediaType",
        "kind",
        "sensitivity",
    }


async def test_text_is_stored_as_the_tokens_agent(client: Any) -> None:
    a1, _ = await pair(client)
    body = await put(client, a1, name="notes.md", text="héllo", kind="log")
    artifact = body["artifact"]
    assert artifact["createdBy"] == "a1"
    assert artifact["kind"] == "log"
    assert artifact["mediaType"] == "text/plain; charset=utf-8"
    assert artifact["sha256"] == hashlib.sha256("héllo".encode()).hexdigest()
    assert body["ref"]["artifactId"] == artifact["id"]
    content = await client.get(f"/api/artifacts/{artifact['id']}/content", headers=H)
    assert await content.get_data() == "héllo".encode()


async def test_base64_with_a_media_type_and_secret(client: Any) -> None:
    a1, a2 = await pair(client)
    raw = bytes(range(256))
    body = await put(
        client,
        a1,
        name="blob.bin",
        base64=base64.b64encode(raw).decode(),
        mediaType="application/x-thing",
        sensitivity="secret",
    )
    artifact = body["artifact"]
    assert artifact["size"] == 256
    assert artifact["mediaType"] == "application/x-thing"
    assert artifact["sensitivity"] == "secret"
    # The secret is a1's: a2 may attach it to nothing, a1 may send it to a2.
    assert await refused(
        client, a2, "send_message", to="a1", body="x", attachments=[{"artifactId": artifact["id"]}]
    ) == ("forbidden")
    sent = await ok(
        client, a1, "send_message", to="a2", body="x", attachments=[{"artifactId": artifact["id"]}]
    )
    assert sent["message"]["attachments"] == [body["ref"]]


async def test_refusals_carry_the_http_messages(client: Any) -> None:
    a1, _ = await pair(client)
    both = "exactly one of text, base64 is required"
    assert await put_refused(client, a1, name="x") == both
    assert await put_refused(client, a1, name="x", text="a", base64="YQ==") == both
    assert await put_refused(client, a1, name="x", base64="%%%") == ("base64 must be valid base64")
    assert await put_refused(client, a1, name="a/b", text="x") == ("name must not contain /")
    assert await put_refused(client, a1, name="x", text="") == "content is required"
    assert await put_refused(client, a1, name="x", text="x", kind="movie") == (
        "kind must be one of file, patch, log, image, data, other"
    )


async def test_a_media_type_with_control_characters_is_refused(client: Any) -> None:
    """CR/LF (once matched by ``\\s``) would be stored, then break the content route."""
    a1, _ = await pair(client)
    for media_type in (
        "text/plain\r\n;x=y",
        "text/plain;\r\nSet-Cookie: a=b",
        "text/plain\n",
        "\rtext/plain",
        "text/pl\u00e1in",
    ):
        assert await put_refused(client, a1, name="x", text="x", mediaType=media_type) == (
            "mediaType must be a media type such as text/plain"
        ), media_type
    # Spaces and a tab before a parameter stay allowed.
    fine = await put(client, a1, name="x", text="x", mediaType="text/plain \t; charset=utf-8")
    assert fine["artifact"]["mediaType"] == "text/plain \t; charset=utf-8"
    content = await client.get(f"/api/artifacts/{fine['artifact']['id']}/content", headers=H)
    assert content.status_code == 200


async def test_bounded_by_the_body_limit(open_app: Any) -> None:
    async with open_app(max_body_bytes=2048) as app:
        client = app.test_client()
        await client.post("/api/agents", json={"id": "a1"}, headers=H)
        token = await mcp_token(client, "a1")
        # The content fits the request but not the limit both share once decoded.
        response = await rpc(
            client,
            token,
            "tools/call",
            {"name": "artifact_put", "arguments": {"name": "x", "text": "y" * 4096}},
        )
        assert response.status_code == 413
        fits = await rpc(
            client,
            token,
            "tools/call",
            {"name": "artifact_put", "arguments": {"name": "x", "text": "y" * 1024}},
        )
        result = (await fits.get_json())["result"]
        assert result.get("isError", False) is False


async def test_a_token_without_task_write_is_refused(client: Any, mint: Any) -> None:
    await pair(client)
    token = mint(["message:read"], {"agents": ["a1"]})
    assert await put_refused(client, token, name="x", text="y") == "forbidden"


async def test_name_rules_match_the_route(client: Any) -> None:
    a1, _ = await pair(client)
    assert await put_refused(client, a1, name="x" * 256, text="x") == (
        "name must be at most 255 characters"
    )
    assert await put_refused(client, a1, text="x") == "name is required"
