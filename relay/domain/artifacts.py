"""Artifacts: immutable uploaded bytes with a name, and the refs messages and tasks carry.

The bytes live once per sha256 in the blob store; each upload is its own ``Artifact`` row
(its own id, name and creator) naming that blob.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

JSON = dict[str, Any]

ArtifactKind = Literal["file", "patch", "log", "image", "data", "other"]
Sensitivity = Literal["normal", "secret"]

KINDS: tuple[ArtifactKind, ...] = ("file", "patch", "log", "image", "data", "other")
SENSITIVITIES: tuple[Sensitivity, ...] = ("normal", "secret")
DEFAULT_MEDIA_TYPE = "application/octet-stream"
NAME_MAX_LENGTH = 255
ID_MAX_LENGTH = 64  # ``art_`` + 32 hex, with room; the column's width


def new_artifact_id() -> str:
    """``art_`` + 32 hex."""
    return f"art_{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class AttachmentRef:
    """What a message (or a task) keeps of an artifact: its fields outlive a deletion."""

    artifact_id: str
    name: str
    media_type: str
    size: int
    sha256: str

    def to_json(self) -> JSON:
        return {
            "artifactId": self.artifact_id,
            "name": self.name,
            "mediaType": self.media_type,
            "size": self.size,
            "sha256": self.sha256,
        }


@dataclass(frozen=True, slots=True)
class Artifact:
    id: str
    sha256: str
    size: int
    media_type: str
    name: str
    kind: ArtifactKind
    sensitivity: Sensitivity
    created_by: str
    created_at: int
    # Whether ``created_by`` named an agent at upload (else it is the uploader's token sub):
    # authorization reads this, never whether an agent of that id exists now (which anyone
    # registering an agent could change).
    created_by_agent: bool = False

    def ref(self) -> AttachmentRef:
        return AttachmentRef(
            artifact_id=self.id,
            name=self.name,
            media_type=self.media_type,
            size=self.size,
            sha256=self.sha256,
        )

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "sha256": self.sha256,
            "size": self.size,
            "mediaType": self.media_type,
            "name": self.name,
            "kind": self.kind,
            "sensitivity": self.sensitivity,
            "createdBy": self.created_by,
            "createdAt": self.created_at,
        }
