"""Versioned config entries and their history, in and out of the store.

Writes (``put``, ``delete``) are meant to run as jobs of the group-commit writer
(``store.write(lambda: put(...))``). That writer runs jobs one at a time in FIFO
order, so a job's read of the current version and its write cannot interleave
with another write of this process: two writers of one key get versions n+1 and
n+2. Across relay processes sharing PostgreSQL, the unique (namespace, key,
version) index on the history is the backstop: the loser of a race gets a
``VersionConflict``, never a duplicated version.

Values go to the JSON columns already encoded (see ``_insert``): tortoise's JSONField
reads a ``str`` as JSON text, so a string value handed to it as is would be misread
(``"12"`` stored as the number 12, ``"abc"`` refused).
"""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from relay.domain.config import (
    ConfigEntry,
    ConfigRevision,
    ConfigWrite,
    VersionConflict,
    Written,
    encode,
)
from relay.store import models


class _LostRace(Exception):
    """Another process moved the entry between our read and our write."""


def _entry(row: models.ConfigEntry) -> ConfigEntry:
    return ConfigEntry(
        namespace=row.namespace,
        key=row.key,
        version=row.version,
        value=row.value,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def _revision(row: models.ConfigHistory) -> ConfigRevision:
    return ConfigRevision(
        namespace=row.namespace,
        key=row.key,
        version=row.version,
        value=row.value,
        deleted=row.deleted,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


async def get(namespace: str, key: str) -> ConfigEntry | None:
    """The current entry, or None."""
    row = await models.ConfigEntry.get_or_none(namespace=namespace, key=key)
    return _entry(row) if row else None


async def get_value(namespace: str, key: str) -> Any | None:
    """The current value of ``(namespace, key)``, or None when there is none.

    E.g. a spawn policy: ``store.call(lambda: get_value("spawn-policies", name))``.
    """
    entry = await get(namespace, key)
    return entry.value if entry else None


async def list_namespace(namespace: str) -> list[ConfigEntry]:
    """Every current entry of a namespace, by key."""
    rows = await models.ConfigEntry.filter(namespace=namespace).order_by("key")
    return [_entry(row) for row in rows]


async def history(namespace: str, key: str, limit: int) -> list[ConfigRevision]:
    """The key's revisions, newest first (deletes included)."""
    rows = (
        await models.ConfigHistory.filter(namespace=namespace, key=key)
        .order_by("-version")
        .limit(limit)
    )
    return [_revision(row) for row in rows]


async def put(change: ConfigWrite, now: int) -> Written | VersionConflict:
    """Write a new version of the key and append it to the history, or refuse.

    Returns ``VersionConflict`` when ``change.expected_version`` is stale (0 stands
    for "absent") or another process wrote the same version first. A refusal
    writes nothing and is returned, not raised, so it does not roll back the other
    jobs of its group commit.
    """
    current = await models.ConfigEntry.get_or_none(namespace=change.namespace, key=change.key)
    current_version = current.version if current else 0
    if change.expected_version is not None and change.expected_version != current_version:
        return VersionConflict(current_version)
    version = current.version + 1 if current else await _last_version(change) + 1
    entry = ConfigEntry(
        namespace=change.namespace,
        key=change.key,
        version=version,
        value=change.value,
        updated_at=now,
        updated_by=change.updated_by,
    )
    encoded = encode(change.value)
    try:
        # A savepoint: losing the race rolls back this job only, not its batch.
        async with in_transaction():
            await _append_history(entry, encoded, deleted=False)
            if current is None:
                await _insert(
                    models.ConfigEntry(
                        namespace=entry.namespace,
                        key=entry.key,
                        version=version,
                        updated_at=now,
                        updated_by=entry.updated_by,
                    ),
                    encoded,
                )
            else:
                updated = await models.ConfigEntry.filter(
                    id=current.id, version=current.version
                ).update(
                    version=version, value=encoded, updated_at=now, updated_by=entry.updated_by
                )
                if updated != 1:
                    raise _LostRace
    except (IntegrityError, _LostRace):
        return VersionConflict(await _current_version(change.namespace, change.key))
    return Written(entry=entry, created=current is None)


async def delete(
    namespace: str,
    key: str,
    *,
    now: int,
    updated_by: str | None = None,
    expected_version: int | None = None,
) -> ConfigRevision | VersionConflict | None:
    """Remove the entry and append a ``deleted`` revision; None when there is no entry."""
    current = await models.ConfigEntry.get_or_none(namespace=namespace, key=key)
    if current is None:
        if expected_version is not None and expected_version != 0:
            return VersionConflict(0)
        return None
    if expected_version is not None and expected_version != current.version:
        return VersionConflict(current.version)
    revision = ConfigRevision(
        namespace=namespace,
        key=key,
        version=current.version + 1,
        value=None,
        deleted=True,
        updated_at=now,
        updated_by=updated_by,
    )
    try:
        async with in_transaction():
            await _append_history(revision, None, deleted=True)
            removed = await models.ConfigEntry.filter(
                id=current.id, version=current.version
            ).delete()
            if removed != 1:
                raise _LostRace
    except (IntegrityError, _LostRace):
        return VersionConflict(await _current_version(namespace, key))
    return revision


async def _append_history(
    entry: ConfigEntry | ConfigRevision, encoded: str | None, *, deleted: bool
) -> None:
    row = models.ConfigHistory(
        namespace=entry.namespace,
        key=entry.key,
        version=entry.version,
        deleted=deleted,
        updated_at=entry.updated_at,
        updated_by=entry.updated_by,
    )
    await _insert(row, encoded)


async def _insert(row: models.ConfigEntry | models.ConfigHistory, encoded: str | None) -> None:
    """Save a new row with its ``value`` as JSON text.

    The value is set after construction: the model's constructor would decode the
    text into a Python value, and a decoded string would then be taken for JSON text.
    ``update(value=…)`` passes text straight through, so updates need no such care.
    """
    row.value = encoded
    await row.save()


async def _last_version(change: ConfigWrite) -> int:
    """The highest version the key ever had (its history outlives a delete), or 0."""
    last = (
        await models.ConfigHistory.filter(namespace=change.namespace, key=change.key)
        .order_by("-version")
        .first()
    )
    return last.version if last else 0


async def _current_version(namespace: str, key: str) -> int:
    row = await models.ConfigEntry.get_or_none(namespace=namespace, key=key)
    return row.version if row else 0
