"""tortoise models: memories."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

__all__ = ["Memory"]


class Memory(Model):
    """A memory. ``search_text`` / ``search_tags`` are lower-cased copies written with it
    (title, body, tags joined by newlines; tags alone, newline-framed), so one plain
    ``LIKE`` matches the same rows on SQLite and PostgreSQL."""

    id = fields.CharField(primary_key=True, max_length=64)
    scope = fields.CharField(max_length=16)
    scope_key = fields.CharField(max_length=1024)
    type = fields.CharField(max_length=16)
    visibility = fields.CharField(max_length=16)
    sensitivity = fields.CharField(max_length=16)
    confidence = fields.CharField(max_length=16)
    redaction_state = fields.CharField(max_length=16)
    title = fields.TextField()
    body = fields.TextField()
    tags = fields.JSONField(default=list)
    source = fields.JSONField(null=True)
    created_by = fields.CharField(max_length=200)
    created_by_agent = fields.BooleanField(default=True)
    version = fields.IntField(default=1)
    serve_count = fields.IntField(default=0)
    last_served_at = fields.BigIntField(null=True)
    created_at = fields.BigIntField()
    updated_at = fields.BigIntField()
    search_text = fields.TextField()
    search_tags = fields.TextField()
    # The redaction list that left the stored text unchanged (migration 0015), or None.
    redaction_stamp = fields.CharField(max_length=32, null=True)

    class Meta:
        table = "memories"
        indexes = (("updated_at", "id"), ("scope", "scope_key"))
