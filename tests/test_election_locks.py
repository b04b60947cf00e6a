"""The election against what a stuck or older relay holds on PostgreSQL: an idle transaction
keeping the fence's FOR SHARE, the instance lock of a relay of the previous version, the
election session of a stopped relay, and migrations of a relay deposed while starting."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import pytest
import trio
from asyncpg.exceptions import IdleInTransactionSessionTimeoutError, InterfaceError
from tortoise.connection import get_connection

from relay.election import Elector, Leadership
from relay.errors import Deposed
from relay.store.leader_lease import FENCE, INSTANCE_KEY, LeaseStore, connect
from relay.store.schema import postgres_session_settings, tortoise_config
from relay.store.thread import StoreThread
from tests.conftest import open_store
from tests.test_election import DEADLINE, TIMES, elector, pg_url, tick

__all__ = ["pg_url"]  # the fixture, used by name

T = TypeVar("T")

OLD_RELAY = "relay host=old-host pid=4242"  # how a relay before the election named itself


class Session:
    """A raw PostgreSQL session of the test's own (another process, as far as relay can
    tell), on an asyncio loop in a thread."""

    def __init__(self, url: str, settings: dict[str, str]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(connect(url, 10, settings), self._loop)
        self.conn: Any = future.result(10)

    def run(self, statement: Callable[[Any], Awaitable[T]]) -> T:
        async def call() -> T:
            return await statement(self.conn)

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(10)

    def close(self) -> None:
        async def close() -> None:
            try:
                await self.conn.close(timeout=2)
            except Exception:
                self.conn.terminate()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


def old_relay(url: str) -> Session | None:
    """A relay of the previous version, holding the instance lock as it serves (None if the
    lock is taken)."""
    session = Session(url, {"application_name": OLD_RELAY})
    taken = session.run(
        lambda c: c.fetchval("SELECT pg_try_advisory_lock($1::int4, $2::int4)", *INSTANCE_KEY)
    )
    if not taken:
        session.close()
        return None
    return session


async def db(call: Callable[[], T]) -> T:
    return await trio.to_thread.run_sync(call)


def test_the_store_s_postgresql_connections_end_idle_transactions_and_dead_peers() -> None:
    config = tortoise_config(
        "postgres://u@db.example:5432/relay?minsize=2", idle_in_transaction_seconds=2.5
    )
    credentials = config["connections"]["default"]["credentials"]
    assert credentials["minsize"] == "2"  # the URL's own options are kept
    settings = credentials["server_settings"]
    assert settings["idle_in_transaction_session_timeout"] == "2500"
    assert settings["tcp_user_timeout"] == "2500"
    assert settings["tcp_keepalives_idle"] == "5"


async def test_the_store_s_sessions_carry_the_settings(pg_url: str) -> None:
    async with open_store(pg_url, idle_in_transaction_seconds=3) as store:
        rows = await store.run(
            lambda: get_connection("default").execute_query_dict(
                "SELECT current_setting('idle_in_transaction_session_timeout') AS t"
            )
        )
    assert rows == [{"t": "3s"}]


async def test_an_idle_transaction_holding_the_fence_does_not_block_acquiring_for_long(
    pg_url: str,
) -> None:
    store = LeaseStore(pg_url)
    stuck: Session | None = None
    try:
        await db(partial(store.ensure_tables, 10))
        # An active stopped inside a write transaction: it read the fence and went idle.
        stuck = Session(pg_url, postgres_session_settings(3.0))
        await db(partial(stuck.run, lambda c: c.execute("BEGIN")))
        await db(partial(stuck.run, lambda c: c.fetchval(FENCE)))
        # The acquire waits on the row no longer than its lock_timeout (half the call's
        # timeout, 1 s, before the server ends the session at 3 s) and says "not this round"
        # (None) rather than failing the call with a timeout and a dropped connection.
        assert await db(partial(store.try_acquire, "b", "http://b", 15, 2.0)) is None
        with trio.fail_after(DEADLINE):
            while True:
                epoch = await db(partial(store.try_acquire, "b", "http://b", 15, 1.0))
                if epoch is not None:
                    break
                await trio.sleep(0.2)
        assert epoch == 1
        # The server ended the idle session (and with it the FOR SHARE).
        with pytest.raises((IdleInTransactionSessionTimeoutError, InterfaceError)):
            await db(partial(stuck.run, lambda c: c.fetchval("SELECT 1")))
    finally:
        if stuck is not None:
            await db(stuck.close)
        await db(store.close)


async def test_an_older_relay_holding_the_instance_lock_keeps_the_winner_standby(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with elector(pg_url, "b") as b:
        old = await db(partial(old_relay, pg_url))
        assert old is not None
        try:
            with caplog.at_level(logging.WARNING, logger="relay.election"):
                await tick(b)
                await tick(b)
            assert b.leadership.role == "standby"
            assert not b.leadership.won.is_set()
            lease = b.leadership.lease
            assert lease is not None
            assert (lease.holder, lease.epoch) == (None, 0)  # not even taken for a moment
            refusals = [r.getMessage() for r in caplog.records if "leadership_refused" in r.message]
            assert len(refusals) == 1, refusals  # one line, not one per tick
            assert OLD_RELAY in refusals[0]
        finally:
            await db(old.close)  # the old relay stops
        await tick(b)
        leadership = b.leadership  # read again: the tick changed it
        assert leadership.role == "starting"
        # Now the elected relay holds the instance lock: an old relay would refuse to start.
        late = Session(pg_url, {"application_name": OLD_RELAY})
        try:
            taken = await db(
                partial(
                    late.run,
                    lambda c: c.fetchval(
                        "SELECT pg_try_advisory_lock($1::int4, $2::int4)", *INSTANCE_KEY
                    ),
                )
            )
            assert taken is False
        finally:
            await db(late.close)


class OldRelayStartsMeanwhile(LeaseStore):
    """The older relay takes the instance lock between the look and the lease."""

    def old_relay_holder(self, timeout: float) -> str | None:
        return None


async def test_a_winner_that_cannot_take_the_instance_lock_gives_the_lease_back(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = OldRelayStartsMeanwhile(pg_url)
    b = Elector(store, Leadership(self_id="b", self_url="http://b", times=TIMES))
    old = await db(partial(old_relay, pg_url))
    assert old is not None
    try:
        await b.prepare()
        with caplog.at_level(logging.WARNING, logger="relay.election"):
            await tick(b)
        assert b.leadership.role == "standby"
        assert not b.leadership.won.is_set()
        lease = b.leadership.lease
        assert lease is not None
        assert (lease.holder, lease.epoch) == (None, 1)  # taken, then given back at once
        assert any(OLD_RELAY in r.getMessage() for r in caplog.records)
    finally:
        await db(old.close)
        await db(store.close)


async def test_a_stopped_elected_relay_s_instance_lock_does_not_block_its_successor(
    pg_url: str,
) -> None:
    async with elector(pg_url, "a") as a, elector(pg_url, "b") as b:
        await tick(a)
        assert a.leadership.role == "starting"  # a holds the lease and the instance lock
        # a stops (SIGSTOP): its session, and the lock on it, stay; its lease expires.
        with trio.fail_after(DEADLINE):
            while b.leadership.role == "standby":
                await tick(b)
                await trio.sleep(TIMES.retry)
        assert b.leadership.epoch == a.leadership.epoch + 1
        await tick(a)  # a wakes: deposed
        assert a.leadership.lost.is_set()


async def test_an_active_that_finds_an_older_relay_holding_the_instance_lock_steps_down(
    pg_url: str,
) -> None:
    async with elector(pg_url, "a") as a:
        await tick(a)
        assert a.leadership.role == "starting"
        # a's election connection breaks (and the lock with it); an old relay starts.
        admin = Session(pg_url, {"application_name": "test admin"})
        try:
            await db(
                partial(
                    admin.run,
                    lambda c: c.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE application_name = 'relay election'"
                        " AND datname = current_database()"
                    ),
                )
            )
        finally:
            await db(admin.close)
        old = None
        with trio.fail_after(DEADLINE):
            while True:  # until the terminated backend has exited
                old = await db(partial(old_relay, pg_url))
                if old is not None:
                    break
                await trio.sleep(0.05)
        try:
            while not a.leadership.lost.is_set():  # the first tick may meet the dead socket
                await tick(a)
            assert a.leadership.lost_reason is not None
            assert OLD_RELAY in a.leadership.lost_reason
        finally:
            await db(old.close)


async def test_a_relay_deposed_while_starting_does_not_migrate(pg_url: str) -> None:
    async with elector(pg_url, "a") as a:
        await tick(a)
        store = StoreThread(pg_url)
        store.fence_epoch = a.leadership.epoch + 1  # a successor's epoch: ours is stale
        with pytest.raises(Deposed, match="no longer the active one"):
            await db(store.start)
        assert not store.started
        store = StoreThread(pg_url)
        store.fence_epoch = a.leadership.epoch
        await db(store.start)
        await db(store.stop)
