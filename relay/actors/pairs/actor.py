"""PairActor: the only writer of one pair. PairPartiesActor: which agent is in which open
pair, decided one reservation at a time, so two concurrent creates sharing an agent
cannot both succeed."""

from __future__ import annotations

import concurrent.futures
import contextlib
from typing import Any

from relay.actors.pairs import rules
from relay.actors.pairs.messages import (
    KIND,
    PARTIES_KEY,
    PARTIES_KIND,
    Abandon,
    Act,
    Create,
    Release,
    Reserve,
)
from relay.actors.runtime.aggregate import AggregateActor
from relay.actors.runtime.audit import Change
from relay.actors.runtime.bridge import Durable
from relay.actors.runtime.context import Runtime
from relay.actors.runtime.dispatch import dispatchmethod
from relay.actors.runtime.pool import PooledActor
from relay.auth.views import PAIRS_VIEW
from relay.domain.pairs import Pair, in_pair_message
from relay.errors import Conflict, NotFound, Unavailable
from relay.store import pairs as pair_store


def _change(kind: str, pair: Pair) -> list[Change]:
    # Whether its creator was an agent, as stored: who reads the event as its creator is
    # judged on it (``pairs.events``), as ``GET /api/pairs/:id`` judges it.
    data = {"change": kind, "pair": pair.to_json(), "createdByAgent": pair.created_by_agent}
    return [Change("pair", data, view=PAIRS_VIEW)]


def _release(rt: Runtime, pair_id: str) -> None:
    # Never wait on another actor: the index learns it by a tell. Refused only while the
    # relay stops, when the index (memory) goes too.
    with contextlib.suppress(Unavailable):
        rt.registry.tell(PARTIES_KIND, PARTIES_KEY, Release(pair_id))


def _release_when_committed(
    rt: Runtime, done: concurrent.futures.Future[Any], pair_id: str
) -> None:
    if done.cancelled() or done.exception() is not None:
        return
    _release(rt, pair_id)


def _release_unless_committed(
    rt: Runtime, done: concurrent.futures.Future[Any], pair_id: str
) -> None:
    if done.cancelled() or done.exception() is not None:
        _release(rt, pair_id)


class PairActor(PooledActor, AggregateActor):
    kind = KIND

    pair: Pair | None = None
    # This activation's insert of the pair (``Create``), for ``Abandon`` to wait on.
    create_commit: concurrent.futures.Future[Any] | None = None

    def load(self) -> None:
        self.pair = self.read_through_queue(lambda: pair_store.load(self.key))

    def is_empty(self) -> bool:
        return self.pair is None

    @dispatchmethod
    def handle(self, message: Any) -> Any:
        raise TypeError(f"PairActor cannot handle {message!r}")

    @handle.register
    def _create(self, message: Create) -> Durable[Pair] | Pair:
        if self.pair is not None:
            raise Conflict(f"pair {self.key} exists")
        pair = message.pair
        self.pair = pair
        commit = self.write_changed(lambda: pair_store.insert(pair), _change("created", pair))
        self.create_commit = commit
        return Durable(pair, commit)

    @handle.register
    def _abandon(self, _message: Abandon) -> None:
        rt, pair_id = self.rt, self.key
        if self.pair is None:
            _release(rt, pair_id)
        elif self.create_commit is not None:
            # Created by this activation: its parties stay taken once the insert commits
            # (the callback runs at once when that is settled already).
            self.create_commit.add_done_callback(
                lambda done: _release_unless_committed(rt, done, pair_id)
            )
        # Else it was loaded from the store: created, its parties rightly taken.

    @handle.register
    def _act(self, message: Act) -> Durable[Pair] | Pair:
        if self.pair is None:
            raise NotFound("pair not found")
        after = rules.act(
            self.pair, message.action, message.acting, message.version, self.rt.clock.now_ms()
        )
        if after is self.pair:
            return self.durable(after)
        self.pair = after
        commit = self.write_changed(lambda: pair_store.update(after), _change("updated", after))
        if after.final:
            # Free the parties once the final status is committed (a failed write leaves the
            # pair open, and its parties taken). The callback is added before the caller's,
            # so the index has the release queued before the reply is seen.
            # (A closure over the runtime, not the actor: a stopped actor is not kept alive.)
            rt = self.rt
            commit.add_done_callback(lambda done: _release_when_committed(rt, done, after.id))
        return Durable(after, commit)


class PairPartiesActor(AggregateActor):
    """Memory only: loaded from the open pairs on activation, kept by reservations."""

    kind = PARTIES_KIND

    pair_of: dict[str, str]

    def load(self) -> None:
        # Behind every queued write, so pairs created by a previous activation are seen.
        found = self.read_through_queue(pair_store.open_pairs)
        self.pair_of = {agent: pair.id for pair in found for agent in pair.parties}

    @dispatchmethod
    def handle(self, message: Any) -> Any:
        raise TypeError(f"PairPartiesActor cannot handle {message!r}")

    @handle.register
    def _reserve(self, message: Reserve) -> None:
        for agent in message.agents:
            holder = self.pair_of.get(agent)
            if holder is not None and holder != message.pair_id:
                raise Conflict(in_pair_message(agent, holder))
        for agent in message.agents:
            self.pair_of[agent] = message.pair_id

    @handle.register
    def _release(self, message: Release) -> None:
        self.pair_of = {a: p for a, p in self.pair_of.items() if p != message.pair_id}
