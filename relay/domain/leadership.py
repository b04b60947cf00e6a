"""Leadership on PostgreSQL: the lease row, the members, and the rules over them.

One process at a time is the **active** relay: it holds the leader row's lease, renews it
every retry, and stamps every write transaction with the lease's epoch (the fence). The
others are **standbys**. All times are the database's, so hosts' clocks never matter;
only the renew deadline is measured on this process's monotonic clock (see
``must_step_down``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Role = Literal["single", "standby", "starting", "active"]


@dataclass(frozen=True)
class LeaseTimes:
    """The election's settings, in seconds (Kubernetes' defaults are 15 / 10 / 2)."""

    lease: float
    renew_deadline: float
    retry: float


@dataclass(frozen=True)
class Lease:
    """The leader row as last read: who holds it, since when, until when."""

    holder: str | None
    holder_url: str | None
    epoch: int
    acquired_at: datetime | None
    renewed_at: datetime | None
    expires_at: datetime | None
    changed_at: datetime | None


@dataclass(frozen=True)
class Member:
    """A relay process taking part in the election, as it last said it was alive."""

    id: str
    url: str
    seen_at: datetime


def may_acquire(lease: Lease, me: str, now: datetime) -> bool:
    """Whether ``me`` may take the lease at database time ``now``.

    The same condition as the acquiring UPDATE's WHERE clause (``relay.store.leader_lease``):
    the row is free, already ours, or its holder let it expire.
    """
    if lease.holder is None or lease.holder == me:
        return True
    return lease.expires_at is None or lease.expires_at < now


def must_step_down(last_renewed: float, now: float, renew_deadline: float) -> bool:
    """Whether an active whose last successful renewal was *sent* at ``last_renewed``
    must give up at ``now`` (both on this process's monotonic clock).

    Measured from when the renewal was sent, not answered: the database stamped the lease
    after the send, so this errs on the side of stepping down early.
    """
    return now - last_renewed >= renew_deadline


def active_of(lease: Lease | None, now: datetime) -> Lease | None:
    """The lease if someone holds it and it has not expired at ``now``, else None."""
    if lease is None or lease.holder is None:
        return None
    if lease.expires_at is not None and lease.expires_at < now:
        return None
    return lease


def standbys_of(
    members: list[Member], holder: str | None, now: datetime, lease: float
) -> list[Member]:
    """The members seen within one lease period, but the holder, ordered by id."""
    return sorted(
        (m for m in members if m.id != holder and (now - m.seen_at).total_seconds() <= lease),
        key=lambda m: m.id,
    )
