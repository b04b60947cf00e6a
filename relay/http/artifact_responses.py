"""The JSON shapes of the artifact routes (``relay.http.responses`` holds the rest)."""

from __future__ import annotations

from typing import Literal

from relay.http.responses import Shape


class Artifact(Shape):
    """An upload: its blob's sha256 and size, and its own name, kind and creator."""

    id: str
    sha256: str
    size: int
    media_type: str
    name: str
    kind: Literal["file", "patch", "log", "image", "data", "other"]
    sensitivity: Literal["normal", "secret"]
    created_by: str
    created_at: int


class AttachmentRef(Shape):
    """What a message keeps of an artifact; send ``{artifactId}`` to attach one."""

    artifact_id: str
    name: str
    media_type: str
    size: int
    sha256: str


class UploadedArtifact(Shape):
    """The artifact stored, and the ref to attach it with."""

    artifact: Artifact
    ref: AttachmentRef


class DeletedArtifact(Shape):
    """The artifact deleted (its refs on messages keep their fields)."""

    id: str
    deleted: bool
