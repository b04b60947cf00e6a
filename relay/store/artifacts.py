"""Artifacts and their holders in and out of the store."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from relay.domain.artifacts import Artifact, ArtifactKind, Sensitivity
from relay.store import models
from relay.store.keyset import Cursor, older_than

MESSAGE = "message"  # ArtifactLink.holder_kind of a message attaching the artifact
TASK = "task"  # ArtifactLink.holder_kind of a task attaching the artifact


def _artifact(row: models.Artifact) -> Artifact:
    return Artifact(
        id=row.id,
        sha256=row.sha256,
        size=row.size,
        media_type=row.media_type,
        name=row.name,
        kind=cast(ArtifactKind, row.kind),
        sensitivity=cast(Sensitivity, row.sensitivity),
        created_by=row.created_by,
        created_at=row.created_at,
        created_by_agent=row.created_by_agent,
    )


async def insert(artifact: Artifact) -> None:
    await models.Artifact.create(
        id=artifact.id,
        sha256=artifact.sha256,
        size=artifact.size,
        media_type=artifact.media_type,
        name=artifact.name,
        kind=artifact.kind,
        sensitivity=artifact.sensitivity,
        created_by=artifact.created_by,
        created_at=artifact.created_at,
        created_by_agent=artifact.created_by_agent,
    )


async def load(artifact_id: str) -> Artifact | None:
    row = await models.Artifact.get_or_none(id=artifact_id)
    return _artifact(row) if row else None


async def by_id(artifact_ids: Iterable[str]) -> dict[str, Artifact]:
    wanted = list(dict.fromkeys(artifact_ids))
    if not wanted:
        return {}
    return {row.id: _artifact(row) for row in await models.Artifact.filter(id__in=wanted)}


async def listed(
    created_by: str | None,
    kind: str | None,
    limit: int,
    before: Cursor | None = None,
) -> list[Artifact]:
    """Newest first; ``before``: the page after the artifact of this ``(created_at, id)``."""
    query = models.Artifact.all()
    if created_by is not None:
        query = query.filter(created_by=created_by)
    if kind is not None:
        query = query.filter(kind=kind)
    if before is not None:
        query = query.filter(older_than(before))
    rows = await query.order_by("-created_at", "-id").limit(limit)
    return [_artifact(row) for row in rows]


async def delete(artifact_id: str) -> bool:
    """The row only: its blob stays until ``artifact-gc`` finds no row naming it."""
    return bool(await models.Artifact.filter(id=artifact_id).delete())


async def named_blobs() -> set[str]:
    """Every sha256 some artifact row names."""
    return {str(s) for s in await models.Artifact.all().distinct().values_list("sha256", flat=True)}


async def link(artifact_ids: Iterable[str], holder_kind: str, holder_id: str) -> None:
    """Record that ``holder_id`` holds these artifacts, in the caller's transaction."""
    for artifact_id in dict.fromkeys(artifact_ids):
        await models.ArtifactLink.get_or_create(
            artifact_id=artifact_id, holder_kind=holder_kind, holder_id=holder_id
        )


async def unlink_holders(holder_kind: str, holder_ids: Iterable[str]) -> None:
    wanted = list(holder_ids)
    if wanted:
        await models.ArtifactLink.filter(holder_kind=holder_kind, holder_id__in=wanted).delete()


async def message_recipients(artifact_id: str) -> list[str]:
    """Agents delivered a message attaching the artifact."""
    message_ids = await models.ArtifactLink.filter(
        artifact_id=artifact_id, holder_kind=MESSAGE
    ).values_list("holder_id", flat=True)
    if not message_ids:
        return []
    agents = await models.Delivery.filter(message_id__in=list(message_ids)).values_list(
        "agent_id", flat=True
    )
    return sorted({str(a) for a in agents})


async def task_assignees(artifact_id: str) -> list[str]:
    """Agents holding (or that held to the end) a task attaching the artifact."""
    task_ids = await models.ArtifactLink.filter(
        artifact_id=artifact_id, holder_kind=TASK
    ).values_list("holder_id", flat=True)
    if not task_ids:
        return []
    agents = await models.Task.filter(id__in=list(task_ids), assignee__isnull=False).values_list(
        "assignee", flat=True
    )
    return sorted({str(a) for a in agents})
