"""Leader election on PostgreSQL: which ``relay serve`` process is the active one.

``Leadership`` is what this process knows of the cluster (its role, the lease as last read,
the members); the standby gate, ``/readyz``, ``/api/cluster`` and ``/metrics`` read it.
``Elector.run`` keeps it true: every ``retry`` seconds it says this member is alive, tries
to take the lease (standby) or renews it (active), and reads the row back.

An active steps down — ``Leadership.lose`` sets ``lost`` and ``relay serve`` exits 3 — when
no renewal succeeded for ``renew_deadline`` seconds, when a renewal finds the lease is no
longer its own, or when the store's fence refuses a write (``relay.store.thread``). The
deadline is shorter than the lease, so a live active gives up before anyone may take over;
the fence covers the one that cannot notice in time (stopped, stalled, partitioned).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TypeVar

import trio

from relay.domain.leadership import (
    Lease,
    LeaseTimes,
    Member,
    Role,
    active_of,
    must_step_down,
    standbys_of,
)
from relay.startup import one_line
from relay.store.leader_lease import LeaseStore

T = TypeVar("T")

log = logging.getLogger("relay.election")


@dataclass
class Leadership:
    """This process's view of the cluster. Read and written on the trio thread only, but
    ``lose`` may be called from any thread (the store thread's fence)."""

    self_id: str
    self_url: str
    times: LeaseTimes
    role: Role = "standby"
    epoch: int = 0  # ours while starting or active; the row's last seen epoch otherwise
    lease: Lease | None = None
    members: list[Member] = field(default_factory=list)
    db_now: datetime | None = None
    changes: int = 0  # leadership changes this process has seen (epochs moving on)
    observed_at: float | None = None  # time.monotonic() of the last read of the row
    won: trio.Event = field(default_factory=trio.Event)
    lost: trio.Event = field(default_factory=trio.Event)
    lost_reason: str | None = None
    _token: trio.lowlevel.TrioToken | None = None

    @classmethod
    def single(cls, self_url: str) -> Leadership:
        """SQLite, or an app without election (tests): this process is the only one."""
        return cls(self_id="single", self_url=self_url, times=LeaseTimes(0, 0, 0), role="single")

    @property
    def is_active(self) -> bool:
        return self.role in ("single", "active")

    def active(self) -> Lease | None:
        """The live lease, if the row names a holder that has not expired."""
        if self.db_now is None:
            return None
        return active_of(self.lease, self.db_now)

    def active_url(self) -> str | None:
        if self.is_active:
            return self.self_url
        found = self.active()
        return found.holder_url if found is not None else None

    def seconds_since_change(self) -> float | None:
        """Since leadership last changed hands (the row's ``changed_at``, database time)."""
        if self.lease is None or self.lease.changed_at is None or self.db_now is None:
            return None
        assert self.observed_at is not None
        age = (self.db_now - self.lease.changed_at).total_seconds()
        return max(age, 0.0) + time.monotonic() - self.observed_at

    def standbys(self) -> list[Member]:
        if self.db_now is None:
            return []
        holder = self.lease.holder if self.lease is not None else None
        return standbys_of(self.members, holder, self.db_now, self.times.lease)

    def observe(self, lease: Lease, members: list[Member], db_now: datetime) -> None:
        if self.lease is not None and lease.epoch != self.lease.epoch:
            self.changes += 1
        self.lease, self.members, self.db_now = lease, members, db_now
        self.observed_at = time.monotonic()
        if not self.is_active:
            self.epoch = lease.epoch

    def bind_token(self) -> None:
        """Remember the trio token so another thread can call ``lose``."""
        self._token = trio.lowlevel.current_trio_token()

    def lose(self, reason: str) -> None:
        """Step down: log one line and set ``lost`` (once; from any thread)."""
        if self._token is not None:
            try:
                if trio.lowlevel.current_trio_token() is self._token:
                    self._lose(reason)
                    return
            except RuntimeError:
                pass
            with contextlib.suppress(trio.RunFinishedError):  # the relay already stopped
                self._token.run_sync_soon(self._lose, reason)
        else:
            self._lose(reason)

    def _lose(self, reason: str) -> None:
        if self.lost.is_set():
            return
        self.lost_reason = reason
        log.error("leadership_lost epoch=%s reason=%s action=exit status=3", self.epoch, reason)
        self.lost.set()


class Elector:
    """Takes part in the election for one process (see the module's docstring)."""

    def __init__(self, store: LeaseStore, leadership: Leadership) -> None:
        self.store = store
        self.leadership = leadership
        self.last_renewed: float | None = None
        # Who held the instance lock when this standby last refused to activate (logged once).
        self.refused_by: str | None = None
        self._failing = False

    @property
    def _timeout(self) -> float:
        # A statement never holds a tick up for long; the renew deadline is checked after it.
        return max(self.leadership.times.retry, 0.5)

    async def _db(self, call: Callable[[], T]) -> T:
        return await trio.to_thread.run_sync(call)

    async def prepare(self) -> None:
        """Create the election's tables if missing and say this member is here.

        Raises:
            Exception: the database cannot be reached (asyncpg's or the socket's error).
        """
        me = self.leadership
        await self._db(partial(self.store.ensure_tables, max(self._timeout, 5)))
        await self._db(partial(self.store.seen, me.self_id, me.self_url, max(self._timeout, 5)))

    async def run(self) -> None:
        """Tick every ``retry`` seconds until cancelled or until this process lost leadership."""
        me = self.leadership
        me.bind_token()
        while not me.lost.is_set():
            started = trio.current_time()
            await self.tick(started)
            await trio.sleep_until(started + me.times.retry)

    async def tick(self, now: float) -> None:
        """One round: seen, acquire or renew, read back; then the step-down rule."""
        me = self.leadership
        timeout = self._timeout
        try:
            await self._db(partial(self.store.seen, me.self_id, me.self_url, timeout))
            if me.role == "standby":
                await self._try_to_win(now, timeout)
            else:
                renewed = await self._db(
                    partial(self.store.renew, me.self_id, me.epoch, me.times.lease, timeout)
                )
                if not renewed:
                    me.lose(f"deposed: the lease of epoch {me.epoch} is no longer ours")
                    return
                # Held on the election connection; a new connection (after an error) takes
                # it again, unless a relay of the previous version got it meanwhile.
                holder = await self._db(partial(self.store.hold_instance_lock, timeout))
                if holder is not None:
                    me.lose(f"an older relay holds the instance lock ({holder})")
                    return
                self.last_renewed = now
            lease, members, db_now = await self._read(timeout)
            me.observe(lease, members, db_now)
            if self._failing:
                log.info("election_recovered")
                self._failing = False
        except Exception as exc:
            if not self._failing:
                log.warning("election_failed role=%s error=%s", me.role, one_line(exc))
                self._failing = True
        renewing = me.role in ("starting", "active") and self.last_renewed is not None
        if renewing and must_step_down(
            self.last_renewed or 0.0, trio.current_time(), me.times.renew_deadline
        ):
            me.lose(f"lease not renewed for {me.times.renew_deadline:g} s")

    async def _try_to_win(self, now: float, timeout: float) -> None:
        """Take the lease, then the instance lock; activate only with both.

        While a relay of the previous version (which knows nothing of the leader row) holds
        the instance lock, stay standby and do not even take the lease (no epoch churn);
        one line names it, once.
        """
        me = self.leadership
        holder = await self._db(partial(self.store.old_relay_holder, timeout))
        if holder is None:
            epoch = await self._db(
                partial(self.store.try_acquire, me.self_id, me.self_url, me.times.lease, timeout)
            )
            if epoch is None:
                return
            holder = await self._db(partial(self.store.hold_instance_lock, timeout))
            if holder is None:
                me.role, me.epoch = "starting", epoch
                self.last_renewed = now
                self.refused_by = None
                log.info("leadership_acquired epoch=%s url=%s", epoch, me.self_url)
                me.won.set()
                return
            await self._db(partial(self.store.release, me.self_id, epoch, timeout))
        if holder != self.refused_by:
            log.warning(
                "leadership_refused reason=another relay holds the instance lock (%s)"
                " action=standby",
                holder,
            )
        self.refused_by = holder

    async def _read(self, timeout: float) -> tuple[Lease, list[Member], datetime]:
        return await self._db(partial(self.store.read, timeout))

    async def resign(self) -> None:
        """Release the lease (if ours) and leave the members, at once: a standby takes over
        within one retry. Errors are logged, never raised (the lease then simply expires)."""
        me = self.leadership
        try:
            holding = me.role in ("starting", "active")
            if holding and await self._db(partial(self.store.release, me.self_id, me.epoch, 5.0)):
                log.info("leadership_released epoch=%s", me.epoch)
            await self._db(partial(self.store.leave, me.self_id, 5.0))
        except Exception as exc:
            log.warning("leadership_release_failed error=%s", one_line(exc))
