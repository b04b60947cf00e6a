"""Counts for ``/metrics`` that only the database knows: commands by status, leases held."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.functions import Count

from relay.store import models


@dataclass(frozen=True, slots=True)
class StoreCounts:
    commands_by_status: dict[str, int]
    leases_held: int


async def store_counts() -> StoreCounts:
    """One grouped count over commands and a count of merge-lease rows."""
    rows = await models.Command.annotate(n=Count("id")).group_by("status").values("status", "n")
    by_status = {str(row["status"]): int(row["n"]) for row in rows}
    leases = await models.MergeLease.all().count()
    return StoreCounts(commands_by_status=by_status, leases_held=leases)
