"""``artifact_put``: ``POST /api/artifacts`` as the token's agent, its content given as
``text`` (UTF-8) or ``base64``; the whole MCP request is bounded by ``RELAY_MAX_BODY_BYTES``
(and the content by ``RELAY_ARTIFACT_MAX_BYTES`` too)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator

from relay.actors import artifacts, messaging
from relay.errors import Invalid
from relay.http.artifacts import uploaded_json
from relay.http.auth import principal
from relay.http.mcp.tools import JSON, Tool
from relay.http.services import services
from relay.http.validation import Body


class ArtifactPutArguments(Body):
    # Checked by the route's rules (``check_name``), so the tool and the route answer alike.
    name: str
    text: str | None = None
    base64: str | None = None
    media_type: str | None = None
    kind: str | None = None
    sensitivity: str | None = None


def _content(arguments: ArtifactPutArguments) -> bytes:
    if (arguments.text is None) == (arguments.base64 is None):
        raise Invalid("exactly one of text, base64 is required")
    if arguments.text is not None:
        return arguments.text.encode("utf-8")
    try:
        return base64.b64decode(arguments.base64 or "", validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("base64 must be valid base64") from None


async def _one(content: bytes) -> AsyncIterator[bytes]:
    yield content


async def run(caller: str, arguments: ArtifactPutArguments) -> JSON:
    rt = services().runtime
    content = _content(arguments)
    default_type = "text/plain; charset=utf-8" if arguments.text is not None else None
    created_by, created_by_agent = await messaging.resolve_sender(rt, principal(), caller)
    data = artifacts.Upload(
        name=artifacts.check_name(arguments.name),
        kind=artifacts.check_kind(arguments.kind),
        sensitivity=artifacts.check_sensitivity(arguments.sensitivity),
        media_type=artifacts.check_media_type(arguments.media_type or default_type),
        created_by=created_by,
        created_by_agent=created_by_agent,
    )
    max_bytes = min(rt.settings.artifact_max_bytes, rt.settings.max_body_bytes)
    artifact = await artifacts.upload(rt, data, _one(content), max_bytes=max_bytes)
    return uploaded_json(artifact)


TOOL = Tool(
    name="artifact_put",
    description=(
        "Store a file as an artifact: its content as text or base64 (exactly one),"
        " with a name, optional mediaType, kind (file|patch|log|image|data|other) and"
        " sensitivity (normal|secret). Returns the artifact and the ref to attach it"
        " to a message with (attachments: [{artifactId}])."
    ),
    scope="task:write",
    arguments=ArtifactPutArguments,
    run=run,
)
