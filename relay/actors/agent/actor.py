"""AgentActor: the only writer of one agent's card and timeline."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import replace
from typing import Any

from relay.actors.agent.action_rules import changes_host_provider, lifecycle_conflict
from relay.actors.agent.host_meta import moves_past_paths, relabels_past, steers_host
from relay.actors.agent.known import facts_of
from relay.actors.agent.messages import (
    KIND,
    AbortLifecycle,
    AppendTimeline,
    BeginLifecycle,
    Delete,
    EndLifecycle,
    Heartbeat,
    Patch,
    Reap,
    RecordResumedBy,
    Register,
)
from relay.actors.agent.rules import (
    abort_lifecycle,
    apply_patch,
    begin_lifecycle,
    end_lifecycle,
    lifecycle_command_id,
    lifecycle_in_flight,
    record_resumed_by,
    register_card,
    reserved_id,
)
from relay.actors.commands.target import TargetActor
from relay.actors.runtime.audit import Change, write_with_audit
from relay.actors.runtime.bridge import Durable
from relay.actors.runtime.context import Runtime
from relay.actors.runtime.dispatch import dispatchmethod
from relay.actors.runtime.pool import PooledActor
from relay.actors.runtime.reaping import presence_after_silence
from relay.domain.agents import AgentCard
from relay.domain.commands import Command
from relay.errors import Conflict, Forbidden, Invalid, NotFound
from relay.store import agents as agent_store
from relay.store import commands as command_store
from relay.store import orchestrators as orchestrator_store


class AgentActor(PooledActor, TargetActor):
    kind = KIND
    target_kind = "agent"

    card: AgentCard | None = None

    def __init__(self, key: str, runtime: Runtime) -> None:
        super().__init__(key, runtime)
        # ``ready`` as it was when a lifecycle was reserved, by command id: what an
        # ``AbortLifecycle`` restores. Memory only: lost with the activation, as a
        # reservation's short life makes harmless.
        self._ready_before: dict[str, bool] = {}

    def load(self) -> None:
        # Read behind every write queued for this agent: the stored card.
        self.card = self.read_through_queue(lambda: agent_store.load(self.key))
        if self.card is None:
            self.rt.agents.forget(self.key)
        else:
            self.rt.agents.record(self.key, facts_of(self.card))

    def _stored_when_committed(self, commit: Future[Any], card: AgentCard | None) -> None:
        """Once ``commit`` (a write of ``card``'s row, or its delete when None) is stored,
        the directory says what it stored; a failed one leaves no entry (readers then read
        the store). Until then readers get the facts stored before, as the store would say:
        the directory never runs ahead of a commit. Commits settle in queue order, so the
        last to settle is the last written."""
        agents, key = self.rt.agents, self.key
        facts = facts_of(card) if card is not None else None

        def follow(done: Future[Any]) -> None:
            if facts is None or done.cancelled() or done.exception() is not None:
                agents.forget(key)
            else:
                agents.record(key, facts)

        commit.add_done_callback(follow)

    def is_empty(self) -> bool:
        return self.card is None

    def require_exists(self) -> None:
        self._require()

    def _require(self) -> AgentCard:
        if self.card is None:
            raise NotFound("agent not found")
        return self.card

    def _refuse_host_steering(
        self, after: AgentCard, meta: dict[str, Any] | None, orchestrator_id: str | None = None
    ) -> None:
        """403 when a caller limited to agents would steer a host by writing ``after``
        over the card held (``steers_host``, ``changes_host_provider``)."""
        card = self.card
        stored_meta = card.meta if card is not None else {}
        placed = card.orchestrator_id if card is not None else None
        if steers_host(stored_meta, placed, meta, orchestrator_id) or changes_host_provider(
            card, after
        ):
            raise Forbidden("forbidden")

    def _refuse_past_limits(self, message: Register | Patch, after: AgentCard) -> None:
        """403 when the write would change the card held past the caller's labels
        (``relabels_past``), or when that card is on a host the caller's ``hosts`` do not
        name (on none: unless it names the agent)."""
        card = self.card
        stored_meta = None if card is None else card.meta
        if message.labels and relabels_past(message.labels, stored_meta, after.meta):
            raise Forbidden("forbidden")
        if message.hosts is None or card is None:
            return
        held = card.orchestrator_id
        if (held is None and not message.named) or (held is not None and held not in message.hosts):
            raise Forbidden("forbidden")

    def _refuse_moving_past(self, paths: tuple[str, ...] | None, after: AgentCard) -> None:
        """403 when a caller limited to ``paths`` would move the card held (judged here,
        so no write queued before it slips between check and change) from or to a
        working directory they do not cover (``moves_past_paths``)."""
        stored_meta = None if self.card is None else self.card.meta
        if paths is not None and moves_past_paths(paths, stored_meta, after.meta):
            raise Forbidden("forbidden")

    def _refuse_another_hosts_agent_id(self, after: AgentCard) -> None:
        """409 when the card would be placed (created, or moved to a host) under an id some
        other host registered as its ``agentId``: commands to that id reach that host
        (``commands.flows.resolve_target``), so the agent would be handed none of its own,
        and that host every one meant for it. ``_claims_nothing_of_another_host`` judges
        the other order, a host claiming an agent's id."""
        named = after.orchestrator_id
        if self.card is not None and self.card.orchestrator_id == named:
            return
        claimed = self.read_through_queue(lambda: orchestrator_store.claiming_agent_id(after.id))
        if not claimed:
            return
        # The host the card names, by its id or, where no host has that id, its agentId.
        host = (
            None
            if named is None
            else self.read_through_queue(lambda: orchestrator_store.resolve_target(named))
        )
        others = [claimer for claimer in claimed if claimer != host]
        if others:
            raise Conflict(f"agent id {after.id} is the agentId of orchestrator {others[0]}")

    def _now(self) -> int:
        return self.rt.clock.now_ms()

    @dispatchmethod
    def handle(self, message: Any) -> Any:
        raise TypeError(f"AgentActor cannot handle {message!r}")

    @handle.register
    def _register(self, message: Register) -> Durable[tuple[AgentCard, bool]]:
        registration = message.registration
        created = self.card is None
        if created and reserved_id(registration.id):
            raise Invalid(f"agent id {registration.id} is reserved")
        card = register_card(self.card, registration, self._now())
        if message.host_guarded:
            self._refuse_host_steering(card, registration.meta, registration.orchestrator_id)
        self._refuse_moving_past(message.paths, card)
        self._refuse_past_limits(message, card)
        self._refuse_another_hosts_agent_id(card)
        self.card = card
        # First registration and re-registration alike: the page learns of the card here.
        commit = self.write_changed(
            lambda: agent_store.insert(card) if created else agent_store.update(card),
            [self._change("registered", card)],
        )
        self._stored_when_committed(commit, card)
        return Durable((card, created), commit)

    @handle.register
    def _heartbeat(self, _message: Heartbeat) -> Durable[AgentCard]:
        previous = self._require()
        card = replace(previous, status="online", last_seen_at=self._now())
        self.card = card
        changes = [self._change("status", card)] if previous.status != card.status else []
        commit = self.write_changed(
            lambda: agent_store.touch(card.id, card.status, card.last_seen_at), changes
        )
        self.rt.events.presence.agent_seen(card.id, card.last_seen_at)
        return Durable(card, commit)

    @handle.register
    def _patch(self, message: Patch) -> Durable[AgentCard]:
        card = apply_patch(self._require(), message.patch)
        if message.host_guarded:
            self._refuse_host_steering(card, message.patch.meta)
        self._refuse_moving_past(message.paths, card)
        self._refuse_past_limits(message, card)
        self.card = card
        commit = self.write_changed(
            lambda: agent_store.update(card), [self._change("updated", card)]
        )
        self._stored_when_committed(commit, card)
        return Durable(card, commit)

    @handle.register
    def _delete(self, _message: Delete) -> Durable[None]:
        card = self._require()
        self.card = None
        now = self._now()
        commit = self.write_changed(
            lambda: agent_store.delete(card.id, card.orchestrator_id, now),
            [self._change("deleted", card)],
        )
        self._stored_when_committed(commit, None)
        return Durable(None, commit)

    @handle.register
    def _append(self, message: AppendTimeline) -> Any:
        card = self._require()
        now = self._now()
        # The entry's id comes from the database: wait for this one commit here.
        return self.rt.store.call(
            lambda: agent_store.append_timeline(card.id, message.entry, now), write=True
        )

    @handle.register
    def _reap(self, _message: Reap) -> Durable[AgentCard] | None:
        card = self.card
        if card is None:
            return None
        settings = self.rt.settings
        status = presence_after_silence(
            card.status,
            card.last_seen_at,
            self._now(),
            stale_after_s=settings.agent_stale_seconds,
            offline_after_s=settings.agent_offline_seconds,
        )
        if status == card.status:
            return None
        reaped = replace(card, status=status)
        self.card = reaped
        commit = self.write_changed(
            lambda: agent_store.touch(reaped.id, status, reaped.last_seen_at),
            [self._change("status", reaped)],
        )
        return Durable(reaped, commit)

    @handle.register
    def _begin_lifecycle(self, message: BeginLifecycle) -> Durable[AgentCard]:
        card = self._require()
        now = self._now()
        if lifecycle_in_flight(card, self._lifecycle_command(card), now):
            raise lifecycle_conflict(card.id)
        self._ready_before = {message.command_id: card.ready}
        return self._save(begin_lifecycle(card, message.action, message.command_id, now), "status")

    def _lifecycle_command(self, card: AgentCard) -> Command | None:
        """The stored command the card's lifecycle fields name, read behind queued writes
        (a command queued a moment ago is seen)."""
        command_id = lifecycle_command_id(card)
        if command_id is None:
            return None
        return self.read_through_queue(lambda: command_store.load(command_id))

    @handle.register
    def _abort_lifecycle(self, message: AbortLifecycle) -> Durable[AgentCard] | None:
        card = self._require()
        ready = self._ready_before.pop(message.command_id, card.ready)
        aborted = abort_lifecycle(card, message.command_id, ready=ready)
        return None if aborted is None else self._save(aborted, "status")

    @handle.register
    def _end_lifecycle(self, message: EndLifecycle) -> Durable[AgentCard | None] | None:
        self._ready_before.pop(message.command_id, None)
        card = end_lifecycle(self._require(), message.command_id, offline=message.offline)
        audits = [message.audit] if message.audit is not None else []
        if card is None:
            if not audits:
                return None
            # Nothing to clear (a re-run): the row alone, a no-op if it is stored already.
            return Durable(None, write_with_audit(self.rt, self.write, _nothing, audits=audits))
        # The card, its "status" event and the settle's audit row: one commit.
        self.card = card
        commit = write_with_audit(
            self.rt,
            self.write,
            lambda: agent_store.update(card),
            audits=audits,
            changes=[self._change("status", card)],
        )
        self._stored_when_committed(commit, card)
        return Durable(card, commit)

    @handle.register
    def _record_resumed_by(self, message: RecordResumedBy) -> Durable[AgentCard] | None:
        card = record_resumed_by(self._require(), message.agent_id)
        return None if card is None else self._save(card, "updated")

    def _save(self, card: AgentCard, change: str) -> Durable[AgentCard]:
        """Replace the whole card and write it through with the event describing the change."""
        self.card = card
        commit = self.write_changed(lambda: agent_store.update(card), [self._change(change, card)])
        self._stored_when_committed(commit, card)
        return Durable(card, commit)

    @staticmethod
    def _change(change: str, card: AgentCard) -> Change:
        return Change("agent", {"change": change, "agent": card.to_json()}, agent_id=card.id)


async def _nothing() -> None:
    return None
