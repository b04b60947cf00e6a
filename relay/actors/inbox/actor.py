"""InboxActor: the only writer of one agent's deliveries, their leases and expiries."""

from __future__ import annotations

import concurrent.futures
from collections import OrderedDict
from collections.abc import Sequence
from functools import partial
from typing import Any

from relay.actors.inbox import rules
from relay.actors.inbox.messages import (
    KIND,
    Ack,
    ApplyDue,
    Enqueue,
    Fetch,
    FetchWaiter,
    Handed,
    HandedOff,
    Peek,
    waiting_key,
)
from relay.actors.runtime.aggregate import AggregateActor
from relay.actors.runtime.audit import Change, write_with_audit
from relay.actors.runtime.bridge import Durable
from relay.actors.runtime.dispatch import dispatchmethod
from relay.actors.runtime.pool import PooledActor
from relay.domain.activity import ActivityInput
from relay.domain.messages import Delivery, Message, new_id
from relay.errors import Conflict, NotFound
from relay.store import messages as message_store

NOT_LEASED = "delivery is not leased by you"
# Leases this activation handed out, remembered with their deliveries so that acking a
# whole lease needs no store read; an older lease is read from the store.
REMEMBERED_LEASES = 64


class InboxActor(PooledActor, AggregateActor):
    kind = KIND

    def __init__(self, key: str, runtime: Any) -> None:
        super().__init__(key, runtime)
        # Queued and leased deliveries by id, in inbox order (a requeued one keeps its place).
        self.live: dict[str, Delivery] = {}
        self.last_position = 0
        # lease id -> its deliveries as handed out (an acked one as acked: final states
        # never change, so only those are trusted once a delivery has left ``live``).
        self.leases: OrderedDict[str, dict[str, Delivery]] = OrderedDict()
        # The messages of live deliveries this activation queued (immutable), by delivery id:
        # a fetch hands them out without reading them back from the store.
        self.messages: dict[str, Message] = {}
        # Deliveries queued before their message's write was known to be committed, with
        # that write: not handed out until it is (if it fails, their own write fails too
        # and the actor reloads without them).
        self.unconfirmed: dict[str, concurrent.futures.Future[Any]] = {}

    def load(self) -> None:
        deliveries, last = self.read_through_queue(lambda: message_store.inbox(self.key))
        self.live = {d.id: d for d in deliveries}
        self.last_position = last
        self.leases = OrderedDict()
        self.messages = {}
        self.unconfirmed = {}

    def _now(self) -> int:
        return self.rt.clock.now_ms()

    def parting_state(self) -> Any | None:
        # Only this actor writes the inbox's deliveries: what it holds is what is stored.
        return (dict(self.live), self.last_position)

    def resume(self, state: Any) -> None:
        live, self.last_position = state
        self.live = dict(live)
        self.leases = OrderedDict()
        self.messages = {}
        self.unconfirmed = {}

    def is_quiet(self) -> bool:
        # Nothing queued or leased: a fetch finds nothing until an Enqueue starts us again.
        return not self.live

    @staticmethod
    def _change(name: str, delivery: Delivery) -> Change:
        return Change(
            "delivery",
            {"change": name, "delivery": delivery.to_json()},
            view="messages",
            agent_id=delivery.agent_id,
        )

    def _apply_due(self, now: int) -> tuple[list[Delivery], list[Change], list[ActivityInput]]:
        changed: list[Delivery] = []
        changes: list[Change] = []
        audits: list[ActivityInput] = []
        for delivery in list(self.live.values()):
            after = rules.due(delivery, now)
            if after is None:
                continue
            changed.append(after)
            changes.append(self._change(rules.change_name(delivery, after), after))
            if after.state == "queued":
                self.live[after.id] = after
            else:
                del self.live[after.id]
                self.messages.pop(after.id, None)
                self.unconfirmed.pop(after.id, None)
            if after.state == "dead_lettered":
                audits.append(
                    ActivityInput(
                        kind="message",
                        title="Message dead-lettered",
                        body=f"after {after.attempt} attempts",
                        view="messages",
                        agent_id=after.agent_id,
                        metadata={"deliveryId": after.id, "messageId": after.message_id},
                    )
                )
        return changed, changes, audits

    def _write(
        self,
        updated: Sequence[Delivery],
        changes: Sequence[Change],
        audits: Sequence[ActivityInput] = (),
        inserted: Delivery | None = None,
        after: concurrent.futures.Future[Any] | None = None,
    ) -> Any:
        rows = list(updated)

        async def job() -> None:
            if inserted is not None:
                await message_store.insert_delivery(inserted)
            await message_store.update_deliveries(rows)

        if not changes and not audits and inserted is None and not rows:
            return None
        write = partial(self.write, after=(after,))
        return write_with_audit(self.rt, write, job, audits=audits, changes=changes)

    def _confirmed(self, delivery: Delivery) -> bool:
        """Whether ``delivery``'s message is known to be committed (it may be handed out)."""
        pending = self.unconfirmed.get(delivery.id)
        if pending is None:
            return True
        if not pending.done() or pending.cancelled() or pending.exception() is not None:
            return False
        del self.unconfirmed[delivery.id]
        return True

    @dispatchmethod
    def handle(self, message: Any) -> Any:
        raise TypeError(f"InboxActor cannot handle {message!r}")

    @handle.register
    def _enqueue(self, message: Enqueue) -> Any:
        msg = message.message
        for delivery in self.live.values():
            if delivery.message_id == msg.id:
                return self.durable((delivery, False))
        if message.repeat:
            stored = self.read_through_queue(lambda: message_store.deliveries_of_message(msg.id))
            for delivery in stored:
                if delivery.agent_id == self.key:
                    return self.durable((delivery, False))
        now = self._now()
        changed, changes, audits = self._apply_due(now)
        first = not self.live
        self.last_position += 1
        delivery = rules.queued(new_id("dlv_"), msg, self.key, self.last_position, now)
        if message.matched_by is not None:
            delivery = rules.replace_matched(delivery, message.matched_by)
        changes.append(self._change("queued", delivery))
        handoff = self._hand_off(delivery, now)
        written = delivery if handoff is None else handoff[0]
        if written.state != "acked":
            self.live[written.id] = written
            self.messages[written.id] = msg
        if handoff is None:
            if message.after is not None:
                self.unconfirmed[delivery.id] = message.after
            commit = self._write(changed, changes, audits, inserted=delivery, after=message.after)
        else:
            # No unconfirmed note: the fetch waits for this write, which is queued behind
            # the message's and fails with it.
            waiter = handoff[1]
            changes.append(self._change(written.state, written))
            try:
                commit = self._write(
                    changed, changes, audits, inserted=written, after=message.after
                )
            except BaseException as error:
                waiter.fail(error)  # claimed: it must be answered
                raise
            assert written.lease_id is not None
            handed = Handed(
                written.lease_id, now + waiter.wants, [written], None, messages={msg.id: msg}
            )
            waiter.give(HandedOff(handed, commit))
            # The fetch is woken by the commit itself, whatever it became: the send that
            # rings after its ask may have gone away (its client, a timeout) before it.
            bells, key = self.rt.doorbells, waiting_key(self.key)
            commit.add_done_callback(lambda _commit: bells.ring(key))
        # The send is answered with the delivery as queued, whoever holds it since.
        return Durable((delivery, first), commit)

    def _hand_off(self, delivery: Delivery, now: int) -> tuple[Delivery, FetchWaiter] | None:
        """``delivery`` (just queued) leased to a fetch already waiting on this inbox, and
        that fetch's offer, claimed: the caller must fill it. None when no fetch waits, or
        when a delivery is queued ahead of this one (not yet known committed): fetches hand
        out in inbox order, so that one goes first, through a fetch asking again."""
        if any(d.state == "queued" for d in self.live.values()):
            return None
        waiter: FetchWaiter | None = self.rt.handoffs.claim(waiting_key(self.key))
        if waiter is None:
            return None
        lease_id = new_id("ls_")
        handed = rules.hand_out(delivery, lease_id, now + waiter.wants, now)
        self._remember_lease(lease_id, [handed])
        return handed, waiter

    @handle.register
    def _fetch(self, message: Fetch) -> Any:
        now = self._now()
        changed, changes, audits = self._apply_due(now)
        acked_ids: list[str] = []
        if message.ack is not None:
            try:
                targets, acked = self._acking(message.ack, None, now)
            except (Conflict, NotFound):
                # All or nothing, as the ack route: nothing is handed out; the due
                # expiries are written all the same.
                self._write(changed, changes, audits)
                raise
            acked_ids = [d.id for d in targets]
            changed.extend(acked)
            changes.extend(self._change("acked", d) for d in acked)
        handed: list[Delivery] = []
        lease_id = new_id("ls_")
        lease_expires_at = now + message.lease_ms
        for delivery in list(self.live.values()):
            if len(handed) >= message.limit:
                break
            if delivery.state != "queued" or not self._confirmed(delivery):
                continue
            after = rules.hand_out(delivery, lease_id, lease_expires_at, now)
            handed.append(after)
            changed.append(after)
            changes.append(self._change(after.state, after))
            if after.state == "leased":
                self.live[after.id] = after
            else:
                del self.live[after.id]
        if handed:
            self._remember_lease(lease_id, handed)
        elif message.waiter is not None:
            # This fetch waits next: the delivery queued next is leased to it by Enqueue.
            self.rt.handoffs.offer(waiting_key(self.key), message.waiter)
        known = {d.message_id: m for d in handed if (m := self.messages.get(d.id)) is not None}
        self._forget_messages()
        commit = self._write(changed, changes, audits)
        held = [d.lease_expires_at for d in self.live.values() if d.state == "leased"]
        next_expiry = min((t for t in held if t is not None), default=None)
        reply = (
            Handed(lease_id, lease_expires_at, handed, next_expiry, acked_ids, known)
            if handed
            else Handed(None, None, [], next_expiry, acked_ids)
        )
        return Durable(reply, commit) if commit is not None else self.durable(reply)

    def _forget_messages(self) -> None:
        # Only live deliveries keep their message in memory.
        if len(self.messages) > len(self.live) or any(i not in self.live for i in self.messages):
            self.messages = {i: m for i, m in self.messages.items() if i in self.live}

    def _remember_lease(self, lease_id: str, handed: list[Delivery]) -> None:
        self.leases[lease_id] = {d.id: d for d in handed}
        while len(self.leases) > REMEMBERED_LEASES:
            self.leases.popitem(last=False)

    @handle.register
    def _peek(self, _message: Peek) -> Any:
        changed, changes, audits = self._apply_due(self._now())
        reply = [d for d in self.live.values() if self._confirmed(d)]
        commit = self._write(changed, changes, audits)
        return Durable(reply, commit) if commit is not None else self.durable(reply)

    @handle.register
    def _ack(self, message: Ack) -> Any:
        now = self._now()
        changed, changes, audits = self._apply_due(now)
        # Due expiries are applied (and written) whether or not the ack is refused.
        expiry_commit = self._write(changed, changes, audits)
        targets, acked = self._acking(message.lease_id, message.delivery_ids, now)
        reply = [d.id for d in targets]
        if not acked:
            if expiry_commit is not None:
                return Durable(reply, expiry_commit)
            return self.durable(reply)
        commit = self._write(acked, [self._change("acked", d) for d in acked])
        return Durable(reply, commit)

    def _acking(
        self, lease_id: str, delivery_ids: Sequence[str] | None, now: int
    ) -> tuple[list[Delivery], list[Delivery]]:
        """Ack, all or nothing, the deliveries named (all of ``lease_id``'s when None):
        ``(every one named, those acked now)``; ``live`` is updated, nothing is written.

        Raises NotFound ``delivery not found``, Conflict ``delivery is not leased by you``
        before changing anything.
        """
        members = self.leases.get(lease_id) if delivery_ids is None else None
        if members is not None:
            # A lease handed out by this activation: its deliveries are known.
            targets = self._members(members)
            if not targets:
                raise Conflict(NOT_LEASED)
        elif delivery_ids is None:
            named = [d for d in self.live.values() if d.lease_id == lease_id]
            gone = self.read_through_queue(
                lambda: message_store.deliveries_of_lease(self.key, lease_id)
            )
            candidates = {d.id: d for d in gone}
            candidates.update({d.id: d for d in named})
            if not candidates:
                raise Conflict(NOT_LEASED)
            targets = list(candidates.values())
        else:
            ids = list(dict.fromkeys(delivery_ids))
            missing = [i for i in ids if i not in self.live]
            stored = (
                self.read_through_queue(lambda: message_store.deliveries_by_id(missing))
                if missing
                else {}
            )
            targets = []
            for delivery_id in ids:
                found = self.live.get(delivery_id) or stored.get(delivery_id)
                if found is None or found.agent_id != self.key:
                    raise NotFound("delivery not found")
                targets.append(found)
        to_ack: list[Delivery] = []
        for delivery in targets:
            outcome = rules.ack_outcome(delivery, lease_id, now)
            if outcome == "refuse":
                raise Conflict(NOT_LEASED)
            if outcome == "ack":
                to_ack.append(delivery)
        acked = [rules.acked(d, now) for d in to_ack]
        for delivery in acked:
            del self.live[delivery.id]
            self.messages.pop(delivery.id, None)
            remembered = self.leases.get(lease_id)
            if remembered is not None and delivery.id in remembered:
                remembered[delivery.id] = delivery
        return targets, acked

    def _members(self, members: dict[str, Delivery]) -> list[Delivery]:
        """The current state of a remembered lease's deliveries: live ones from memory, an
        acked one as remembered (final), any other from the store (one gone: left out)."""
        current: dict[str, Delivery] = {}
        unknown: list[str] = []
        for delivery_id, handed in members.items():
            live = self.live.get(delivery_id)
            if live is not None:
                current[delivery_id] = live
            elif handed.state == "acked":
                current[delivery_id] = handed
            else:
                unknown.append(delivery_id)
        if unknown:
            stored = self.read_through_queue(lambda: message_store.deliveries_by_id(unknown))
            current.update(stored)
        return [current[i] for i in members if i in current]

    @handle.register
    def _apply(self, _message: ApplyDue) -> Any:
        changed, changes, audits = self._apply_due(self._now())
        counts = {"requeued": 0, "deadLettered": 0, "expired": 0}
        for delivery in changed:
            if delivery.state == "queued":
                counts["requeued"] += 1
            elif delivery.state == "dead_lettered":
                counts["deadLettered"] += 1
            else:
                counts["expired"] += 1
        commit = self._write(changed, changes, audits)
        return Durable(counts, commit) if commit is not None else counts
