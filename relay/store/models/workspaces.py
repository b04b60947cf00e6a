"""tortoise models: workspaces and their repositories' merge leases."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

__all__ = ["MergeLease", "Workspace"]


class Workspace(Model):
    id = fields.CharField(primary_key=True, max_length=64)
    agent_id = fields.CharField(max_length=200, null=True, db_index=True)
    orchestrator_id = fields.CharField(max_length=200, null=True)
    repo_root = fields.TextField()
    source_cwd = fields.TextField()
    worktree_path = fields.TextField()
    branch = fields.CharField(max_length=255, null=True)
    base_ref = fields.CharField(max_length=255, null=True)
    base_sha = fields.CharField(max_length=64, null=True)
    mode = fields.CharField(max_length=16)
    status = fields.CharField(max_length=32, db_index=True)
    metadata = fields.JSONField(default=dict)
    created_at = fields.BigIntField()
    updated_at = fields.BigIntField()

    class Meta:
        table = "workspaces"


class MergeLease(Model):
    """At most one row per repository: the unique key is the backstop for the lease actor."""

    repo_root = fields.CharField(primary_key=True, max_length=1024)
    workspace_id = fields.CharField(max_length=64)
    holder = fields.CharField(max_length=200)
    command_id = fields.CharField(max_length=64, null=True, db_index=True)
    acquired_at = fields.BigIntField()
    expires_at = fields.BigIntField()

    class Meta:
        table = "merge_leases"
