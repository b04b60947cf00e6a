"""Artifacts over HTTP (spec/tasks.md "Artifacts"): upload, read, list, delete, secret
artifacts, the body limit enforced while streaming, and blobs stored once."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from relay.clock import ManualClock
from relay.errors import Unavailable
from relay.settings import Settings
from tests.conftest import bearer
from tests.http.helpers import H, register_orchestrator

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


async def agent(client: Any, agent_id: str) -> None:
    response = await client.post("/api/agents", json={"id": agent_id, "name": agent_id}, headers=H)
    assert response.status_code in (200, 201), await response.get_data()


async def upload(
    client: Any,
    data: bytes,
    *,
    name: str = "report.txt",
    headers: dict[str, str] | None = None,
    **query: str,
) -> Any:
    params = {"name": name, **query}
    return await client.post(
        "/api/artifacts", data=data, query_string=params, headers={**H, **(headers or {})}
    )


async def uploaded(client: Any, data: bytes, **kwargs: Any) -> dict[str, Any]:
    response = await upload(client, data, **kwargs)
    assert response.status_code == 201, await response.get_data()
    body: dict[str, Any] = await response.get_json()
    return body


async def error_of(response: Any) -> tuple[int, str]:
    return response.status_code, (await response.get_json())["error"]


def blobs(settings: Settings) -> list[Path]:
    root = settings.resolved_artifact_dir() / "sha256"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def temp_files(settings: Settings) -> list[Path]:
    root = settings.resolved_artifact_dir() / "tmp"
    return sorted(root.iterdir()) if root.exists() else []


def agent_token(mint: Any, agent_id: str, *scopes: str) -> dict[str, str]:
    return bearer(mint(list(scopes or ("task:read", "task:write")), {"agents": [agent_id]}))


# -- upload and download ----------------------------------------------------------------


async def test_round_trip_with_headers(client: Any, settings: Settings) -> None:
    sha = hashlib.sha256(PNG).hexdigest()
    body = await uploaded(
        client,
        PNG,
        name="shot.png",
        kind="image",
        headers={"Content-Type": "image/png", "X-Content-SHA256": sha.upper()},
    )
    artifact = body["artifact"]
    assert artifact["id"].startswith("art_")
    assert len(artifact["id"]) == 36
    assert artifact["sha256"] == sha
    assert artifact["size"] == len(PNG)
    assert artifact["mediaType"] == "image/png"
    assert artifact["name"] == "shot.png"
    assert artifact["kind"] == "image"
    assert artifact["sensitivity"] == "normal"
    assert artifact["createdBy"] == "root"
    assert body["ref"] == {
        "artifactId": artifact["id"],
        "name": "shot.png",
        "mediaType": "image/png",
        "size": len(PNG),
        "sha256": sha,
    }
    [blob] = blobs(settings)
    assert blob.relative_to(settings.resolved_artifact_dir()).parts == (
        "sha256",
        sha[:2],
        sha[2:],
    )
    assert temp_files(settings) == []

    got = await client.get(f"/api/artifacts/{artifact['id']}", headers=H)
    assert got.status_code == 200
    assert await got.get_json() == artifact

    content = await client.get(f"/api/artifacts/{artifact['id']}/content", headers=H)
    assert content.status_code == 200
    assert await content.get_data() == PNG
    assert content.headers["Content-Type"] == "image/png"
    assert content.headers["ETag"] == f'"sha256:{sha}"'
    assert content.headers["X-Content-Type-Options"] == "nosniff"
    assert content.headers["Content-Disposition"] == (
        "attachment; filename=\"shot.png\"; filename*=UTF-8''shot.png"
    )


async def test_defaults_octet_stream_file_normal(client: Any) -> None:
    artifact = (await uploaded(client, b"x"))["artifact"]
    assert artifact["mediaType"] == "application/octet-stream"
    assert artifact["kind"] == "file"
    assert artifact["sensitivity"] == "normal"


async def test_if_none_match_is_304(client: Any) -> None:
    artifact = (await uploaded(client, b"hello"))["artifact"]
    url = f"/api/artifacts/{artifact['id']}/content"
    etag = f'"sha256:{artifact["sha256"]}"'
    same = await client.get(url, headers={**H, "If-None-Match": etag})
    assert same.status_code == 304
    assert await same.get_data() == b""
    assert same.headers["ETag"] == etag
    listed = await client.get(url, headers={**H, "If-None-Match": f'"other", W/{etag}'})
    assert listed.status_code == 304
    other = await client.get(url, headers={**H, "If-None-Match": '"sha256:00"'})
    assert other.status_code == 200
    assert await other.get_data() == b"hello"


async def test_a_hostile_name_is_quoted_safely(client: Any) -> None:
    name = 'a"b\\c;d é.txt'
    artifact = (await uploaded(client, b"x", name=name))["artifact"]
    assert artifact["name"] == name
    content = await client.get(f"/api/artifacts/{artifact['id']}/content", headers=H)
    disposition = content.headers["Content-Disposition"]
    assert disposition == (
        "attachment; filename=\"a_b_c_d _.txt\"; filename*=UTF-8''a%22b%5Cc%3Bd%20%C3%A9.txt"
    )


async def test_equal_bytes_are_stored_once_as_two_artifacts(
    client: Any, settings: Settings
) -> None:
    first = (await uploaded(client, b"same bytes", name="one"))["artifact"]
    second = (await uploaded(client, b"same bytes", name="two"))["artifact"]
    assert first["id"] != second["id"]
    assert first["sha256"] == second["sha256"]
    assert len(blobs(settings)) == 1
    assert temp_files(settings) == []
    listed = await (await client.get("/api/artifacts", headers=H)).get_json()
    assert {a["name"] for a in listed} == {"one", "two"}


# -- refused uploads --------------------------------------------------------------------


async def test_empty_is_400(client: Any, settings: Settings) -> None:
    assert await error_of(await upload(client, b"")) == (400, "content is required")
    assert blobs(settings) == []
    assert temp_files(settings) == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "name is required"),
        ("a/b", "name must not contain /"),
        ("x" * 256, "name must be at most 255 characters"),
        ("a\tb", "name must not contain control characters"),
    ],
)
async def test_bad_name_is_400(client: Any, name: str, message: str) -> None:
    assert await error_of(await upload(client, b"x", name=name)) == (400, message)


async def test_missing_name_is_400(client: Any) -> None:
    response = await client.post("/api/artifacts", data=b"x", headers=H)
    assert await error_of(response) == (400, "name is required")


@pytest.mark.parametrize(
    ("query", "headers", "message"),
    [
        ({"kind": "movie"}, {}, "kind must be one of file, patch, log, image, data, other"),
        ({"sensitivity": "top"}, {}, "sensitivity must be one of normal, secret"),
        ({}, {"Content-Type": "not a type"}, "mediaType must be a media type such as text/plain"),
        (
            {},
            {"Content-Type": "text/pl\u00e1in"},
            "mediaType must be a media type such as text/plain",
        ),
        (
            {},
            {"Content-Type": "text/plain;\x7f"},
            "mediaType must be a media type such as text/plain",
        ),
        (
            {},
            {"Content-Type": "text/plain\x0b;a=b"},
            "mediaType must be a media type such as text/plain",
        ),
        ({}, {"X-Content-SHA256": "abc"}, "X-Content-SHA256 must be 64 hex digits"),
    ],
)
async def test_bad_fields_are_400(
    client: Any, query: dict[str, str], headers: dict[str, str], message: str
) -> None:
    assert await error_of(await upload(client, b"x", headers=headers, **query)) == (400, message)


async def test_sha_mismatch_is_400_and_leaves_nothing(client: Any, settings: Settings) -> None:
    wrong = hashlib.sha256(b"other").hexdigest()
    response = await upload(client, b"content", headers={"X-Content-SHA256": wrong})
    assert await error_of(response) == (400, "content does not match X-Content-SHA256")
    assert blobs(settings) == []
    assert temp_files(settings) == []
    assert await (await client.get("/api/artifacts", headers=H)).get_json() == []


async def test_over_the_limit_is_413_and_never_written_whole(open_app: Any, tmp_path: Path) -> None:
    async with open_app(artifact_max_bytes=1024) as app:
        client = app.test_client()
        settings: Settings = app.app.extensions["relay"].runtime.settings
        response = await upload(client, b"x" * 10 * 1024)
        assert await error_of(response) == (413, "artifact too large (max 1024 bytes)")
        assert blobs(settings) == []
        assert temp_files(settings) == []
        exactly = await upload(client, b"y" * 1024)
        assert exactly.status_code == 201


async def test_the_artifact_limit_replaces_the_body_limit(open_app: Any) -> None:
    """Uploads may exceed RELAY_MAX_BODY_BYTES up to RELAY_ARTIFACT_MAX_BYTES; JSON routes
    keep their limit."""
    async with open_app(max_body_bytes=1024, artifact_max_bytes=8192) as app:
        client = app.test_client()
        assert (await upload(client, b"z" * 4096)).status_code == 201
        big = await client.post("/api/agents", json={"id": "a1", "name": "x" * 2048}, headers=H)
        assert await error_of(big) == (413, "request body too large")


async def test_streamed_over_the_limit_stops_reading(tmp_path: Path) -> None:
    """The blob store refuses at the first chunk past the limit: later chunks are never
    read, and the temp file is gone."""
    import trio

    from relay.actors.artifacts import BlobStore
    from relay.errors import TooLarge

    store = BlobStore(tmp_path / "artifacts")
    read: list[int] = []

    async def chunks() -> Any:
        for i in range(10):
            read.append(i)
            yield b"x" * 512
            await trio.lowlevel.checkpoint()

    with pytest.raises(TooLarge, match=r"artifact too large \(max 1024 bytes\)"):
        await store.receive(chunks(), max_bytes=1024, clock=ManualClock(0))
    assert read == [0, 1, 2]
    assert list((tmp_path / "artifacts" / "tmp").iterdir()) == []
    assert not (tmp_path / "artifacts" / "sha256").exists()


# -- auth -------------------------------------------------------------------------------


async def test_without_a_token_is_401(client: Any) -> None:
    assert (await client.post("/api/artifacts?name=x", data=b"x")).status_code == 401
    assert (await client.get("/api/artifacts")).status_code == 401
    assert (await client.get("/api/artifacts/art_x")).status_code == 401
    assert (await client.get("/api/artifacts/art_x/content")).status_code == 401
    assert (await client.delete("/api/artifacts/art_x")).status_code == 401


async def test_scopes_are_403(client: Any, mint: Any) -> None:
    artifact = (await uploaded(client, b"x"))["artifact"]
    reader = bearer(mint(["task:read"], {"agents": ["a1"]}))
    response = await client.post("/api/artifacts?name=x", data=b"x", headers=reader)
    assert await error_of(response) == (403, "forbidden")
    deleted = await client.delete(f"/api/artifacts/{artifact['id']}", headers=reader)
    assert await error_of(deleted) == (403, "forbidden")
    writer = bearer(mint(["message:read"], {"agents": ["a1"]}))
    got = await client.get(f"/api/artifacts/{artifact['id']}", headers=writer)
    assert await error_of(got) == (403, "forbidden")


async def test_created_by_follows_the_sender_rule(client: Any, mint: Any) -> None:
    await agent(client, "a1")
    own = (await uploaded(client, b"x", headers=agent_token(mint, "a1")))["artifact"]
    assert own["createdBy"] == "a1"
    # A subject naming an agent the token does not act for never creates as it.
    impostor = bearer(mint(["task:write"], sub="a1"))
    assert await error_of(await upload(client, b"x", headers=impostor)) == (403, "forbidden")


async def test_unknown_is_404(client: Any) -> None:
    for path in ("/api/artifacts/art_nope", "/api/artifacts/art_nope/content"):
        assert await error_of(await client.get(path, headers=H)) == (404, "artifact not found")
    deleted = await client.delete("/api/artifacts/art_nope", headers=H)
    assert await error_of(deleted) == (404, "artifact not found")
    long = await client.get("/api/artifacts/" + "a" * 65, headers=H)
    assert await error_of(long) == (404, "artifact not found")


async def test_list_filters_by_creator_and_kind(client: Any, mint: Any) -> None:
    await agent(client, "a1")
    await uploaded(client, b"1", name="log", kind="log", headers=agent_token(mint, "a1"))
    await uploaded(client, b"2", name="patch", kind="patch")
    mine = await client.get("/api/artifacts?createdBy=a1", headers=H)
    assert [a["name"] for a in await mine.get_json()] == ["log"]
    patches = await client.get("/api/artifacts?kind=patch", headers=H)
    assert [a["name"] for a in await patches.get_json()] == ["patch"]
    bad = await client.get("/api/artifacts?kind=movie", headers=H)
    assert (await error_of(bad))[0] == 400
    bad_limit = await client.get("/api/artifacts?limit=0", headers=H)
    assert await error_of(bad_limit) == (400, "limit must be between 1 and 500")


# -- secret artifacts -------------------------------------------------------------------


async def test_secret_artifact_readers(client: Any, mint: Any) -> None:
    for agent_id in ("a1", "a2", "a3"):
        await agent(client, agent_id)
    scopes = ("task:read", "task:write", "message:write")
    a1, a2, a3 = (agent_token(mint, a, *scopes) for a in ("a1", "a2", "a3"))
    secret = (await uploaded(client, b"s3cret", sensitivity="secret", headers=a1))["artifact"]
    url = f"/api/artifacts/{secret['id']}"

    async def status(headers: dict[str, str]) -> tuple[int, int]:
        meta = await client.get(url, headers=headers)
        content = await client.get(url + "/content", headers=headers)
        return meta.status_code, content.status_code

    assert await status(a1) == (200, 200)  # the creator
    assert await status(H) == (200, 200)  # root
    dashboard = bearer(mint(["task:read"], role="dashboard"))
    assert await status(dashboard) == (200, 200)  # an operator
    assert await status(a2) == (403, 403)
    unconstrained = bearer(mint(["task:read"]))
    assert await status(unconstrained) == (403, 403)
    listed = await (await client.get("/api/artifacts", headers=a2)).get_json()
    assert listed == []
    # a2 cannot hand it on: attaching what it may not read is refused.
    hand_on = await client.post(
        "/api/messages",
        json={"to": "a3", "body": "here", "attachments": [{"artifactId": secret["id"]}]},
        headers=a2,
    )
    assert await error_of(hand_on) == (403, "forbidden")

    sent = await client.post(
        "/api/messages",
        json={"to": "a2", "body": "here", "attachments": [{"artifactId": secret["id"]}]},
        headers=a1,
    )
    assert sent.status_code == 201, await sent.get_data()
    assert await status(a2) == (200, 200)  # a recipient of a message attaching it
    assert await status(a3) == (403, 403)
    listed = await (await client.get("/api/artifacts", headers=a2)).get_json()
    assert [a["id"] for a in listed] == [secret["id"]]
    # An orchestrator token acting for a2 (its agents) reads it too; one for others does not.
    assert await status(bearer(mint(["task:read"], {"agents": ["a2", "a9"]}))) == (200, 200)


async def test_delete_by_creator_or_operator_then_404(client: Any, mint: Any) -> None:
    await agent(client, "a1")
    await agent(client, "a2")
    a1 = agent_token(mint, "a1")
    artifact = (await uploaded(client, b"bye", headers=a1))["artifact"]
    url = f"/api/artifacts/{artifact['id']}"
    other = await client.delete(url, headers=agent_token(mint, "a2"))
    assert await error_of(other) == (403, "forbidden")
    deleted = await client.delete(url, headers=a1)
    assert deleted.status_code == 200
    assert await deleted.get_json() == {"ok": True, "id": artifact["id"]}
    for path in (url, url + "/content"):
        assert await error_of(await client.get(path, headers=H)) == (404, "artifact not found")
    assert await error_of(await client.delete(url, headers=H)) == (404, "artifact not found")
    by_operator = (await uploaded(client, b"op", headers=a1))["artifact"]
    gone = await client.delete(f"/api/artifacts/{by_operator['id']}", headers=H)
    assert gone.status_code == 200


# -- messages with attachments ----------------------------------------------------------


async def test_message_attachments_become_refs(client: Any) -> None:
    await agent(client, "a1")
    await agent(client, "a2")
    unknown = await client.post(
        "/api/messages",
        json={"to": "a2", "body": "x", "attachments": [{"artifactId": "art_nope"}]},
        headers=H,
    )
    assert await error_of(unknown) == (404, "artifact not found")
    body = await uploaded(client, b"patch", name="fix.diff", kind="patch")
    sent = await client.post(
        "/api/messages",
        json={"to": "a2", "body": "x", "attachments": [{"artifactId": body["artifact"]["id"]}]},
        headers=H,
    )
    assert sent.status_code == 201, await sent.get_data()
    message = (await sent.get_json())["message"]
    assert message["attachments"] == [body["ref"]]
    # Deleted: the message's ref keeps its fields; a new attachment of it is 404.
    await client.delete(f"/api/artifacts/{body['artifact']['id']}", headers=H)
    again = await client.get(f"/api/messages/{message['id']}", headers=H)
    assert (await again.get_json())["attachments"] == [body["ref"]]
    late = await client.post(
        "/api/messages",
        json={"to": "a2", "body": "y", "attachments": [{"artifactId": body["artifact"]["id"]}]},
        headers=H,
    )
    assert await error_of(late) == (404, "artifact not found")


# -- gc ---------------------------------------------------------------------------------


async def test_gc_removes_orphan_blobs_only(
    client: Any, services: Any, settings: Settings, clock: Any
) -> None:
    from relay.actors.artifacts import artifact_gc

    rt = services.runtime
    kept = (await uploaded(client, b"kept"))["artifact"]
    orphan = (await uploaded(client, b"orphan"))["artifact"]
    shared = (await uploaded(client, b"shared", name="one"))["artifact"]
    shared_twin = (await uploaded(client, b"shared", name="two"))["artifact"]
    for artifact in (orphan, shared):
        deleted = await client.delete(f"/api/artifacts/{artifact['id']}", headers=H)
        assert deleted.status_code == 200
    assert len(blobs(settings)) == 3
    # Young blobs are spared: an upload writes its blob before its row commits.
    assert await artifact_gc(rt) == {"deleted": 0, "bytes": 0}
    clock.advance(settings.artifact_gc_grace_seconds + 1)
    assert await artifact_gc(rt) == {"deleted": 1, "bytes": len(b"orphan")}
    left = {p.parent.name + p.name for p in blobs(settings)}
    assert left == {kept["sha256"], shared_twin["sha256"]}
    for artifact in (kept, shared_twin):
        content = await client.get(f"/api/artifacts/{artifact['id']}/content", headers=H)
        assert content.status_code == 200
    assert await artifact_gc(rt) == {"deleted": 0, "bytes": 0}


async def test_a_reupload_makes_an_old_blob_young_again(
    client: Any, services: Any, settings: Settings, clock: Any
) -> None:
    from relay.actors.artifacts import artifact_gc

    first = (await uploaded(client, b"again"))["artifact"]
    await client.delete(f"/api/artifacts/{first['id']}", headers=H)
    clock.advance(settings.artifact_gc_grace_seconds + 1)
    await uploaded(client, b"again")  # same bytes: the blob's mtime moves to now
    assert await artifact_gc(services.runtime) == {"deleted": 0, "bytes": 0}


# -- store down -------------------------------------------------------------------------


async def test_store_down_is_503_and_leaves_no_blob(
    client: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relay.store import artifacts as artifact_store

    artifact = (await uploaded(client, b"before"))["artifact"]

    async def down(*_args: Any, **_kwargs: Any) -> Any:
        raise Unavailable("store unavailable")

    monkeypatch.setattr(artifact_store, "insert", down)
    monkeypatch.setattr(artifact_store, "load", down)
    monkeypatch.setattr(artifact_store, "listed", down)
    failed = await upload(client, b"during")
    assert await error_of(failed) == (503, "store unavailable")
    assert failed.headers["Retry-After"]
    for path in ("/api/artifacts", f"/api/artifacts/{artifact['id']}"):
        response = await client.get(path, headers=H)
        assert await error_of(response) == (503, "store unavailable")
        assert response.headers["Retry-After"]
    deleted = await client.delete(f"/api/artifacts/{artifact['id']}", headers=H)
    assert await error_of(deleted) == (503, "store unavailable")


# -- restart ----------------------------------------------------------------------------


async def test_an_artifact_survives_a_restart(open_app: Any) -> None:
    async with open_app() as app:
        client = app.test_client()
        artifact = (await uploaded(client, b"durable", name="d.txt"))["artifact"]
    async with open_app() as app:
        client = app.test_client()
        got = await client.get(f"/api/artifacts/{artifact['id']}", headers=H)
        assert await got.get_json() == artifact
        content = await client.get(f"/api/artifacts/{artifact['id']}/content", headers=H)
        assert await content.get_data() == b"durable"


async def test_a_chunked_body_past_the_limit_is_413_and_leaves_nothing(open_app: Any) -> None:
    """No Content-Length: the limit is enforced on the bytes as they arrive."""
    async with open_app(artifact_max_bytes=1024) as app:
        client = app.test_client()
        settings: Settings = app.app.extensions["relay"].runtime.settings
        async with client.request(
            "/api/artifacts", method="POST", query_string={"name": "big"}, headers=H
        ) as connection:
            # Four times the limit, in fewer messages than the test connection buffers (10):
            # the server answers 413 and stops reading, so a client that sent more would
            # block on a full buffer with no reader left.
            for _ in range(8):
                await connection.send(b"x" * 512)
            await connection.send_complete()
            response = await connection.as_response()
        assert response.status_code == 413
        assert (await response.get_json())["error"] == "artifact too large (max 1024 bytes)"
        assert blobs(settings) == []
        assert temp_files(settings) == []


async def test_a_repeated_send_with_attachments_is_the_same_message(client: Any) -> None:
    await agent(client, "a2")
    artifact = (await uploaded(client, b"att"))["artifact"]
    body = {
        "to": "a2",
        "body": "x",
        "clientMessageId": "c1",
        "attachments": [{"artifactId": artifact["id"]}],
    }
    first = await client.post("/api/messages", json=body, headers=H)
    again = await client.post("/api/messages", json=body, headers=H)
    assert (first.status_code, again.status_code) == (201, 200)
    assert (await first.get_json())["message"] == (await again.get_json())["message"]


async def test_a_constrained_dashboard_is_judged_like_any_token(client: Any, mint: Any) -> None:
    """A dashboard token limited to other agents neither reads nor deletes a secret one."""
    await agent(client, "a1")
    await agent(client, "a9")
    secret = await uploaded(client, b"s", sensitivity="secret", headers=agent_token(mint, "a1"))
    url = f"/api/artifacts/{secret['artifact']['id']}"
    narrow = bearer(mint(["task:read", "task:write"], {"agents": ["a9"]}, role="dashboard"))
    for path in (url, url + "/content"):
        assert await error_of(await client.get(path, headers=narrow)) == (403, "forbidden")
    assert await error_of(await client.delete(url, headers=narrow)) == (403, "forbidden")
    listed = await client.get("/api/artifacts", headers=narrow)
    assert await listed.get_json() == []
    # Constrained to the creator, it acts for it: reads and deletes.
    a1s = bearer(mint(["task:read", "task:write"], {"agents": ["a1"]}, role="dashboard"))
    assert (await client.get(url + "/content", headers=a1s)).status_code == 200
    assert (await client.delete(url, headers=a1s)).status_code == 200


async def test_registering_an_agent_named_like_a_creators_sub_takes_nothing(
    client: Any, mint: Any
) -> None:
    """A creator that was no agent at upload stays its token's sub: registering an agent
    with that id later gives the registering token nothing."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    scopes = ["task:read", "task:write", "agent:read", "agent:write"]
    o1 = bearer(mint(scopes, {"orchestrators": ["o1"]}, sub="o1", role="orchestrator"))
    o2 = bearer(mint(scopes, {"orchestrators": ["o2"]}, sub="o2", role="orchestrator"))
    secret = (await uploaded(client, b"o1 only", sensitivity="secret", headers=o1))["artifact"]
    assert secret["createdBy"] == "o1"
    url = f"/api/artifacts/{secret['id']}"
    squat = {"id": "o1", "name": "squat", "orchestratorId": "o2"}
    registered = await client.post("/api/agents", json=squat, headers=o2)
    assert registered.status_code in (200, 201), await registered.get_data()
    for path in (url, url + "/content"):
        assert await error_of(await client.get(path, headers=o2)) == (403, "forbidden")
    assert await error_of(await client.delete(url, headers=o2)) == (403, "forbidden")
    assert (await client.get(url + "/content", headers=o1)).status_code == 200
    assert (await client.delete(url, headers=o1)).status_code == 200
