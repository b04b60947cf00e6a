"""Artifact routes: upload a raw body, read one (and its bytes), list, delete
(spec/tasks.md "Artifacts"). Secret artifacts are read through ``allow_artifact``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from quart import Blueprint, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from relay.actors import artifacts, messaging
from relay.domain.artifacts import KINDS, NAME_MAX_LENGTH, Artifact
from relay.http import artifact_responses as shapes
from relay.http.auth import allow_artifact, principal, requires
from relay.http.contract import Media, int_param, responds, str_param
from relay.http.services import services
from relay.http.validation import query_int, query_str

bp = Blueprint("artifacts", __name__)

UPLOAD_QUERY = (
    str_param("name", NAME_MAX_LENGTH, description="1..255 characters, no /"),
    str_param("kind", enum=KINDS),
    str_param("sensitivity", enum=("normal", "secret")),
)


def uploaded_json(artifact: Artifact) -> dict[str, Any]:
    return {"artifact": artifact.to_json(), "ref": artifact.ref().to_json()}


async def _body_chunks(max_bytes: int) -> AsyncIterator[bytes]:
    """The request body as it arrives; quart's own limit (this route's, set in
    ``relay.http.asgi``) refused as the artifact limit."""
    try:
        async for chunk in request.body:
            yield chunk
    except RequestEntityTooLarge:
        raise artifacts.too_large(max_bytes) from None


@bp.post("/api/artifacts")
@responds({201: shapes.UploadedArtifact}, errors=(400, 413), query=UPLOAD_QUERY)
@requires("task:write")
async def upload() -> tuple[dict[str, Any], int]:
    rt = services().runtime
    max_bytes = rt.settings.artifact_max_bytes
    # Everything about the request is checked before a byte of its body is read.
    name = artifacts.check_name(request.args.get("name"))
    created_by, created_by_agent = await messaging.resolve_sender(rt, principal())
    data = artifacts.Upload(
        name=name,
        kind=artifacts.check_kind(request.args.get("kind")),
        sensitivity=artifacts.check_sensitivity(request.args.get("sensitivity")),
        media_type=artifacts.check_media_type(request.headers.get("Content-Type")),
        created_by=created_by,
        created_by_agent=created_by_agent,
        expected_sha256=artifacts.check_expected_sha256(request.headers.get("X-Content-SHA256")),
    )
    if request.content_length is not None and request.content_length > max_bytes:
        raise artifacts.too_large(max_bytes)
    artifact = await artifacts.upload(rt, data, _body_chunks(max_bytes), max_bytes=max_bytes)
    return uploaded_json(artifact), 201


@bp.get("/api/artifacts")
@responds(
    list[shapes.Artifact],
    query=(str_param("createdBy", 200), str_param("kind", enum=KINDS), int_param("limit", 1, 500)),
)
@requires("task:read")
async def list_artifacts() -> list[dict[str, Any]]:
    created_by = query_str("createdBy", max_length=200)
    kind = query_str("kind", max_length=16)
    if kind is not None:
        artifacts.check_kind(kind)
    limit = query_int("limit", 100, low=1, high=500)
    found = await artifacts.listed(services().runtime, principal(), created_by, kind, limit)
    return [a.to_json() for a in found]


@bp.get("/api/artifacts/<artifact_id>")
@responds(shapes.Artifact)
@requires("task:read")
async def get_artifact(artifact_id: str) -> dict[str, Any]:
    return (await allow_artifact(artifact_id)).to_json()


@bp.get("/api/artifacts/<artifact_id>/content")
@responds(
    Media(
        "application/octet-stream",
        "the bytes, with the stored mediaType and ETag (If-None-Match matching it: 304)",
    )
)
@requires("task:read")
async def get_content(artifact_id: str) -> Response:
    artifact = await allow_artifact(artifact_id)
    etag = f'"sha256:{artifact.sha256}"'
    headers = {
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": content_disposition(artifact.name),
        "Cache-Control": "private, no-cache",
    }
    if etag_matches(request.headers.get("If-None-Match"), etag):
        return Response(b"", 304, headers)
    chunks = await artifacts.content(services().runtime, artifact)
    response = Response(chunks, 200, headers, content_type=artifact.media_type)
    response.headers["Content-Length"] = str(artifact.size)
    return response


@bp.delete("/api/artifacts/<artifact_id>")
@responds(shapes.DeletedArtifact)
@requires("task:write")
async def delete_artifact(artifact_id: str) -> dict[str, Any]:
    artifact = await artifacts.delete(services().runtime, principal(), artifact_id)
    return {"ok": True, "id": artifact.id}


def content_disposition(name: str) -> str:
    """``attachment`` with the name quoted safely: an ASCII ``filename`` with nothing to
    escape, and the exact name UTF-8 percent-encoded in ``filename*`` (RFC 6266)."""
    fallback = artifacts.ascii_fallback(name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False
