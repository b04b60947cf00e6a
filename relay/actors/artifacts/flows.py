"""Artifact use cases: upload, read (with the one authorization rule), list, delete, gc.

Artifacts are immutable rows over shared blobs: nothing needs an actor's ordering beyond
the store (an upload inserts its own row, a delete removes one), so these flows write
through ``rt.store.write`` (group-committed: a 2xx means committed) and need no actor.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from relay.actors.artifacts.blobs import BlobStore, StoredBlob
from relay.actors.runtime.context import Runtime
from relay.actors.runtime.paging import Cursor, visible_page
from relay.auth.access import Principal, acts_for, is_named, is_unconstrained_operator
from relay.domain.agents import Placement
from relay.domain.artifacts import (
    ID_MAX_LENGTH,
    Artifact,
    ArtifactKind,
    Sensitivity,
    new_artifact_id,
)
from relay.errors import Forbidden, NotFound
from relay.store import agents as agent_store
from relay.store import artifacts as artifact_store


def blob_store(rt: Runtime) -> BlobStore:
    return BlobStore(rt.settings.resolved_artifact_dir())


@dataclass(frozen=True, slots=True)
class Upload:
    """An upload's metadata, checked by ``rules`` (the route and the MCP tool do)."""

    name: str
    kind: ArtifactKind
    sensitivity: Sensitivity
    media_type: str
    created_by: str  # the sender rule of messaging.md, resolved by the caller's layer
    created_by_agent: bool  # whether that rule named an agent (``messaging.resolve_sender``)
    expected_sha256: str | None = None


async def upload(
    rt: Runtime, data: Upload, chunks: AsyncIterable[bytes], *, max_bytes: int
) -> Artifact:
    """Stream ``chunks`` into the blob store (refused past ``max_bytes``: TooLarge), then
    commit the artifact's row. Invalid for no content or a sha256 mismatch."""
    stored: StoredBlob = await blob_store(rt).receive(
        chunks,
        max_bytes=max_bytes,
        clock=rt.clock,
        expected_sha256=data.expected_sha256,
    )
    artifact = Artifact(
        id=new_artifact_id(),
        sha256=stored.sha256,
        size=stored.size,
        media_type=data.media_type,
        name=data.name,
        kind=data.kind,
        sensitivity=data.sensitivity,
        created_by=data.created_by,
        created_at=rt.clock.now_ms(),
        # As the sender rule decided: an operator's sub is never an agent of that id.
        created_by_agent=data.created_by_agent,
    )
    await rt.store.write(lambda: artifact_store.insert(artifact))
    return artifact


# -- who may read a secret artifact ------------------------------------------------------

# Each source names the agents that hold the artifact through something they were given:
# a message attaching it (delivered to them), a task attaching it (its assignee).
HolderSource = Callable[[Runtime, str], Awaitable[list[str]]]


async def _message_recipients(rt: Runtime, artifact_id: str) -> list[str]:
    return await rt.store.run(lambda: artifact_store.message_recipients(artifact_id))


async def _task_assignees(rt: Runtime, artifact_id: str) -> list[str]:
    return await rt.store.run(lambda: artifact_store.task_assignees(artifact_id))


HOLDER_SOURCES: tuple[HolderSource, ...] = (_message_recipients, _task_assignees)


async def _placements(rt: Runtime, agent_ids: list[str]) -> dict[str, Placement]:
    wanted = tuple(dict.fromkeys(agent_ids))
    if not wanted:
        return {}
    return await rt.store.run(lambda: agent_store.placements_of(wanted))


async def _is_creator(rt: Runtime, caller: Principal, artifact: Artifact) -> bool:
    """An agent creator (as stored at upload): the caller acts for it. A principal creator:
    the caller's sub is it — even if an agent of that id was registered since."""
    created_by = artifact.created_by
    if not artifact.created_by_agent:
        return is_named(caller, created_by)
    placements = await _placements(rt, [created_by])
    return created_by in placements and acts_for(caller, created_by, placements[created_by])


async def _acts_for_any(rt: Runtime, caller: Principal, agent_ids: list[str]) -> bool:
    placements = await _placements(rt, agent_ids)
    return any(acts_for(caller, agent_id, place) for agent_id, place in placements.items())


async def may_read(rt: Runtime, caller: Principal, artifact: Artifact) -> bool:
    """Normal artifacts: every reader (the route's scope decides). Secret ones:
    unconstrained operators (a constrained one is judged like any token), the creator,
    and agents the caller acts for holding it (``HOLDER_SOURCES``)."""
    if artifact.sensitivity != "secret" or is_unconstrained_operator(caller):
        return True
    if await _is_creator(rt, caller, artifact):
        return True
    for source in HOLDER_SOURCES:
        if await _acts_for_any(rt, caller, await source(rt, artifact.id)):
            return True
    return False


async def allow_artifact(rt: Runtime, caller: Principal, artifact_id: str) -> Artifact:
    """The artifact, read from the store; 404 ``artifact not found`` (unknown or deleted),
    403 ``forbidden`` unless ``may_read``. Every read route, the send path and MCP call it.
    An id longer than any artifact's names none (the store's column would refuse it)."""
    if len(artifact_id) > ID_MAX_LENGTH:
        raise NotFound("artifact not found")
    artifact = await rt.store.run(lambda: artifact_store.load(artifact_id))
    if artifact is None:
        raise NotFound("artifact not found")
    if not await may_read(rt, caller, artifact):
        raise Forbidden("forbidden")
    return artifact


async def content(rt: Runtime, artifact: Artifact) -> Any:
    """The artifact's bytes as an async iterator of chunks (opened now: NotFound if the
    blob is gone)."""
    return await blob_store(rt).chunks(artifact.sha256)


# The list is filled past secret artifacts the caller may not read, in batches of at least
# ``_BATCH`` rows, reading at most ``_MAX_SCANNED`` in all: each unreadable secret one
# costs ``may_read`` a few lookups.
_BATCH = 200
_MAX_SCANNED = 2_000


async def listed(
    rt: Runtime, caller: Principal, created_by: str | None, kind: str | None, limit: int
) -> list[Artifact]:
    """Up to ``limit`` artifacts the caller may read (``may_read``), newest first, read on
    past the secret ones it may not (``visible_page``)."""

    async def fetch(before: Cursor | None, size: int) -> list[Artifact]:
        return await rt.store.run(partial(artifact_store.listed, created_by, kind, size, before))

    async def keep(rows: list[Artifact]) -> list[Artifact]:
        return [a for a in rows if await may_read(rt, caller, a)]

    return await visible_page(
        fetch,
        keep,
        lambda a: (a.created_at, a.id),
        limit=limit,
        batch=_BATCH,
        max_scanned=_MAX_SCANNED,
    )


async def delete(rt: Runtime, caller: Principal, artifact_id: str) -> Artifact:
    """The creator or an operator deletes the row (its blob waits for ``artifact-gc``);
    404 unknown, 403 anyone else. Refs on messages keep their fields."""
    artifact = await rt.store.run(lambda: artifact_store.load(artifact_id))
    if artifact is None:
        raise NotFound("artifact not found")
    if not is_unconstrained_operator(caller) and not await _is_creator(rt, caller, artifact):
        raise Forbidden("forbidden")
    if not await rt.store.write(lambda: artifact_store.delete(artifact_id)):
        raise NotFound("artifact not found")  # a concurrent delete won
    return artifact


async def artifact_gc(rt: Runtime) -> dict[str, Any]:
    """Job ``artifact-gc``: delete blobs no artifact names, older than the grace period
    (an upload's blob exists before its row commits) → ``{deleted, bytes}``."""
    named = await rt.store.run(artifact_store.named_blobs)
    collected = await blob_store(rt).collect(
        named,
        rt.clock.now_ms(),
        int(rt.settings.artifact_gc_grace_seconds * 1000),
    )
    return {"deleted": collected.deleted, "bytes": collected.bytes}
