"""tortoise models: artifacts and who holds them."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

__all__ = ["Artifact", "ArtifactLink"]


class Artifact(Model):
    """One upload. ``sha256`` names its blob, shared by every upload of the same bytes: so
    it is indexed, never unique."""

    id = fields.CharField(primary_key=True, max_length=64)
    sha256 = fields.CharField(max_length=64, db_index=True)
    size = fields.BigIntField()
    media_type = fields.CharField(max_length=255)
    name = fields.CharField(max_length=255)
    kind = fields.CharField(max_length=16)
    sensitivity = fields.CharField(max_length=16)
    created_by = fields.CharField(max_length=200)
    created_at = fields.BigIntField()
    created_by_agent = fields.BooleanField(default=False)

    class Meta:
        table = "artifacts"
        indexes = (("created_by", "created_at"),)


class ArtifactLink(Model):
    """Who holds an artifact: a message attaching it (``holder_kind`` ``message``), written
    with the message; a task's attachments are one more kind. Read to authorize secret
    artifacts."""

    id = fields.BigIntField(primary_key=True)
    artifact_id = fields.CharField(max_length=64)
    holder_kind = fields.CharField(max_length=16)
    holder_id = fields.CharField(max_length=64)

    class Meta:
        table = "artifact_links"
        unique_together = (("artifact_id", "holder_kind", "holder_id"),)
        indexes = (("holder_kind", "holder_id"),)
