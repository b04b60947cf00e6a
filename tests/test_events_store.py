"""The stream log in the store: append, replay queries, retention."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from relay.store import stream as stream_store
from relay.store.thread import StoreThread


@pytest.fixture
def store(database_url: str) -> Iterator[StoreThread]:
    thread = StoreThread(database_url)
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()


def append(store: StoreThread, created_at: int, agent_id: str | None = None) -> int:
    event = store.call(
        lambda: stream_store.append("activity", {"at": created_at}, None, agent_id, created_at),
        write=True,
    )
    return event.id


def test_prune_deletes_older_events_and_ids_never_come_back(store: StoreThread) -> None:
    ids = [append(store, at) for at in (1000, 2000, 3000)]
    assert store.call(lambda: stream_store.prune_stream(2500), write=True) == 2
    assert [e.id for e in store.call(lambda: stream_store.after(0))] == ids[2:]

    assert store.call(lambda: stream_store.prune_stream(10_000), write=True) == 1
    assert store.call(stream_store.last_id) == 0
    assert append(store, 4000) > ids[-1]


def test_after_filters_and_pages_in_id_order(store: StoreThread) -> None:
    ids = [append(store, 1000, agent_id=agent) for agent in ("a1", "a2", "a1", None, "a1")]
    mine = store.call(lambda: stream_store.after(ids[0], agents={"a1"}, limit=1))
    assert [e.id for e in mine] == [ids[2]]
    everything = store.call(lambda: stream_store.after(0))
    assert [e.id for e in everything] == ids
    assert store.call(stream_store.last_id) == ids[-1]
