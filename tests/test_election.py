"""Leader election: the pure rules with explicit clocks, then two electors in one process
against the test PostgreSQL database, and the fence refusing a deposed relay's write."""

from __future__ import annotations

import concurrent.futures
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import trio

from relay.domain.leadership import (
    Lease,
    LeaseTimes,
    Member,
    active_of,
    may_acquire,
    must_step_down,
    standbys_of,
)
from relay.election import Elector, Leadership
from relay.errors import Deposed
from relay.store import models
from relay.store.leader_lease import LeaseStore
from relay.store.schema import sqlite_path
from tests.conftest import open_store
from tests.http.test_store_outage import through_proxy
from tests.tcp_proxy import CuttableProxy

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TIMES = LeaseTimes(lease=2, renew_deadline=1.5, retry=0.2)
DEADLINE = 10.0  # bound on waiting for a lease to expire (2 s) on a loaded machine


def lease(holder: str | None, expires_in: float | None = 10, epoch: int = 1) -> Lease:
    expires = T0 + timedelta(seconds=expires_in) if expires_in is not None else None
    return Lease(holder, f"http://{holder}" if holder else None, epoch, T0, T0, expires, T0)


# -- the rules -------------------------------------------------------------------------------


def test_a_free_lease_may_be_taken_by_anyone() -> None:
    assert may_acquire(lease(None), "b", T0)


def test_a_live_lease_may_be_taken_only_by_its_holder() -> None:
    assert may_acquire(lease("a"), "a", T0)
    assert not may_acquire(lease("a"), "b", T0)
    assert not may_acquire(lease("a", expires_in=0), "b", T0)  # expires_at < now, strictly


def test_an_expired_lease_may_be_taken() -> None:
    assert may_acquire(lease("a", expires_in=-0.001), "b", T0)


def test_the_active_steps_down_once_the_renew_deadline_passes_since_the_last_renewal() -> None:
    assert not must_step_down(last_renewed=100.0, now=101.4, renew_deadline=1.5)
    assert must_step_down(last_renewed=100.0, now=101.5, renew_deadline=1.5)
    assert must_step_down(last_renewed=100.0, now=140.0, renew_deadline=1.5)  # woke from SIGSTOP


def test_the_active_is_the_unexpired_holder() -> None:
    assert active_of(lease("a"), T0) == lease("a")
    assert active_of(lease("a", expires_in=-1), T0) is None
    assert active_of(lease(None), T0) is None
    assert active_of(None, T0) is None


def test_standbys_are_the_members_seen_within_a_lease_but_the_holder() -> None:
    members = [
        Member("c", "http://c", T0 - timedelta(seconds=1)),
        Member("a", "http://a", T0),
        Member("b", "http://b", T0 - timedelta(seconds=3)),  # silent longer than the lease
    ]
    assert [m.id for m in standbys_of(members, "a", T0, lease=2)] == ["c"]


# -- two electors on one database -------------------------------------------------------------


@pytest.fixture
def pg_url(database_url: str) -> str:
    if sqlite_path(database_url) is not None:
        pytest.skip("leader election runs on PostgreSQL: set RELAY_TEST_DATABASE_URL")
    return database_url


@asynccontextmanager
async def elector(database_url: str, name: str) -> AsyncIterator[Elector]:
    store = LeaseStore(database_url)
    elected = Elector(store, Leadership(self_id=name, self_url=f"http://{name}", times=TIMES))
    try:
        await elected.prepare()
        yield elected
    finally:
        await trio.to_thread.run_sync(store.close)


async def tick(*electors: Elector) -> None:
    for each in electors:
        await each.tick(trio.current_time())


async def test_one_wins_the_other_is_standby_and_a_release_passes_leadership(pg_url: str) -> None:
    async with elector(pg_url, "a") as a, elector(pg_url, "b") as b:
        await tick(a, b)
        first = a.leadership.epoch
        assert (a.leadership.role, b.leadership.role) == ("starting", "standby")
        assert a.leadership.won.is_set()
        assert not b.leadership.won.is_set()
        assert b.leadership.active_url() == "http://a"
        assert [m.id for m in b.leadership.standbys()] == ["b"]
        assert b.leadership.epoch == first

        await tick(a, b)  # a renews; b still may not take it
        assert (a.leadership.role, b.leadership.role) == ("starting", "standby")
        assert not a.leadership.lost.is_set()

        await a.resign()
        await tick(b)
        assert b.leadership.role == "starting"
        assert b.leadership.epoch == first + 1
        assert b.leadership.changes == 1


async def test_an_expired_lease_passes_to_the_standby_and_the_old_holder_is_deposed(
    pg_url: str,
) -> None:
    async with elector(pg_url, "a") as a, elector(pg_url, "b") as b:
        await tick(a)
        first = a.leadership.epoch
        # a stops renewing (as if stopped); b takes over once the lease expires.
        with trio.fail_after(DEADLINE):
            while b.leadership.role == "standby":
                await tick(b)
                await trio.sleep(TIMES.retry)
        assert b.leadership.epoch == first + 1
        await tick(a)  # a wakes: its renewal finds the lease is someone else's
        assert a.leadership.lost.is_set()
        assert a.leadership.lost_reason is not None
        assert "deposed" in a.leadership.lost_reason


async def test_an_active_that_cannot_renew_within_the_deadline_steps_down(pg_url: str) -> None:
    async with elector(pg_url, "a") as a:
        await tick(a)
        await trio.to_thread.run_sync(a.store.close)  # every statement fails from now on
        await a.tick(trio.current_time())  # the renewal fails; not past the deadline yet
        assert not a.leadership.lost.is_set()
        # The last renewal that succeeded was sent a renew deadline ago.
        a.last_renewed = trio.current_time() - TIMES.renew_deadline
        await a.tick(trio.current_time())
        assert a.leadership.lost.is_set()
        assert a.leadership.lost_reason == "lease not renewed for 1.5 s"


async def test_a_write_with_a_stale_epoch_is_refused_and_changes_nothing(pg_url: str) -> None:
    async with elector(pg_url, "a") as a, elector(pg_url, "b") as b:
        await tick(a)
        deposed: list[Deposed] = []
        async with open_store(pg_url) as store:
            store.fence_epoch = a.leadership.epoch
            store.on_deposed = deposed.append
            await store.write(lambda: models.MaintenanceRun.create(name="while-active"))

            await a.resign()  # as if a's lease had expired
            await tick(b)
            assert b.leadership.epoch == a.leadership.epoch + 1

            with pytest.raises(Deposed, match="no longer the active one"):
                await store.write(lambda: models.MaintenanceRun.create(name="after-deposed"))
            # tortoise types a flat values_list as tuples: these are the names themselves.
            names: list[Any] = await store.run(
                lambda: models.MaintenanceRun.all().values_list("name", flat=True)
            )
            assert sorted(names) == ["while-active"]  # the refused row is absent
            assert len(deposed) == 1
            # Later writes are refused too, without asking the database again.
            with pytest.raises(Deposed):
                await store.write(lambda: models.MaintenanceRun.create(name="later"))
            assert len(deposed) == 1


def test_the_election_tables_are_created_once_by_racing_processes(pg_url: str) -> None:
    stores = [LeaseStore(pg_url) for _ in range(4)]
    try:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda s: s.ensure_tables(10), stores))
        lease_row, _members, _now = stores[0].read(10)
        assert lease_row.holder is None
        assert lease_row.epoch == 0
    finally:
        for store in stores:
            store.close()


@pytest.mark.parametrize("on_use", [False, True], ids=["connections-closed", "broken-on-use"])
async def test_an_active_cut_off_from_the_database_steps_down_within_the_deadline(
    pg_url: str, on_use: bool
) -> None:
    target = urlsplit(pg_url)
    proxy = CuttableProxy(target.hostname or "127.0.0.1", target.port or 5432)
    async with trio.open_nursery() as nursery:
        await nursery.start(proxy.serve)
        async with elector(through_proxy(pg_url, proxy.port), "a") as a:
            await tick(a)
            assert a.leadership.role == "starting"
            proxy.cut(on_use=on_use)
            cut_at = trio.current_time()
            # Ticks as the elector runs them; each statement gives up after its timeout.
            with trio.fail_after(DEADLINE):
                while not a.leadership.lost.is_set():
                    await tick(a)
                    await trio.sleep(TIMES.retry)
            assert a.leadership.lost_reason == "lease not renewed for 1.5 s"
            # Not before the renew deadline (less the moments between renewal and cut).
            waited = trio.current_time() - cut_at
            assert TIMES.renew_deadline - 0.5 <= waited
        nursery.cancel_scope.cancel()
