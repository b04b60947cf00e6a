"""ChannelActor: the only writer of one channel, its bindings and its last-chosen memory."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from relay.actors.channels import rules
from relay.actors.channels.messages import (
    KIND,
    AddBinding,
    ChannelRoute,
    ChannelState,
    Create,
    Delete,
    Get,
    RecordChosen,
    RemoveBinding,
    Route,
)
from relay.actors.runtime.aggregate import AggregateActor
from relay.actors.runtime.audit import Change, write_with_audit
from relay.actors.runtime.bridge import Durable
from relay.actors.runtime.dispatch import dispatchmethod
from relay.actors.runtime.pool import PooledActor
from relay.auth.views import CHANNELS_VIEW
from relay.domain.activity import ActivityInput
from relay.domain.channels import Channel, ChannelBinding
from relay.errors import Conflict, Forbidden, NotFound
from relay.store import channels as channel_store

# Channels are read with message:read (``VIEW_SCOPES``), not with the config they are set by.
AUDIT_VIEW = CHANNELS_VIEW
# Committed routes remembered by (sender, clientMessageId). A repeat is found in the store
# once its original is committed; this only has to cover sends racing that commit, so a
# few recent ones, for a few seconds (``rules.RECENT_ROUTE_MS``), suffice.
RECENT_PICKS = 1024


def _audit(
    title: str, actor: str, channel: Channel, binding: ChannelBinding | None
) -> ActivityInput:
    metadata: dict[str, Any] = {"channelId": channel.id, "by": actor}
    if binding is not None:
        metadata["binding"] = binding.to_json()
    return ActivityInput(
        kind="config",
        title=title,
        body=channel.id,
        meta=binding.id if binding is not None else None,
        icon="ti-messages",
        view=AUDIT_VIEW,
        metadata=metadata,
    )


def _change(change: str, channel: Channel, binding: ChannelBinding | None = None) -> Change:
    data: dict[str, Any] = {"change": change, "channel": channel.to_json()}
    if binding is not None:
        data["binding"] = binding.to_json()
    return Change("channel", data, view=AUDIT_VIEW)


class ChannelActor(PooledActor, AggregateActor):
    kind = KIND

    channel: Channel | None = None
    bindings: tuple[ChannelBinding, ...] = ()
    last_chosen: dict[str, int]
    # In memory only: the loads this channel's recent picks imply (``rules.Floor``).
    floors: dict[str, rules.Floor]
    # In memory only: the committed routes of sends that named a clientMessageId, each with
    # the time (ms) it stops being replayed, oldest first. Dropped on any binding change.
    recent: OrderedDict[tuple[str | None, str], tuple[int, ChannelRoute]]

    def load(self) -> None:
        self.floors = {}
        self.recent = OrderedDict()
        loaded = self.read_through_queue(lambda: channel_store.load(self.key))
        if loaded is None:
            self.channel, self.bindings, self.last_chosen = None, (), {}
        else:
            self.channel, self.bindings, self.last_chosen = loaded

    def is_empty(self) -> bool:
        return self.channel is None

    def require_exists(self) -> None:
        self._require()

    def _require(self) -> Channel:
        if self.channel is None:
            raise NotFound("channel not found")
        return self.channel

    def _now(self) -> int:
        return self.rt.clock.now_ms()

    @dispatchmethod
    def handle(self, message: Any) -> Any:
        raise TypeError(f"ChannelActor cannot handle {message!r}")

    @handle.register
    def _create(self, message: Create) -> Durable[Channel]:
        if self.channel is not None:
            raise Conflict("channel already exists")
        now = self._now()
        channel = Channel(
            id=self.key,
            description=message.description,
            conversation_id=f"cnv_{uuid.uuid4().hex}",
            created_at=now,
            updated_at=now,
        )
        self.channel, self.bindings, self.last_chosen = channel, (), {}
        self.recent.clear()
        commit = write_with_audit(
            self.rt,
            self.write,
            lambda: channel_store.insert(channel),
            audits=[_audit("Channel created", message.actor, channel, None)],
            changes=[_change("created", channel)],
        )
        return Durable(channel, commit)

    @handle.register
    def _get(self, _message: Get) -> ChannelState | Durable[ChannelState]:
        state = ChannelState(self._require(), self.bindings, dict(self.last_chosen))
        return self.durable(state)

    @handle.register
    def _delete(self, message: Delete) -> Durable[Channel]:
        channel = self._require()
        removable = message.removable
        if removable is not None and any(b.id not in removable for b in self.bindings):
            raise Forbidden("forbidden")
        self.channel, self.bindings, self.last_chosen = None, (), {}
        self.recent.clear()
        commit = write_with_audit(
            self.rt,
            self.write,
            lambda: channel_store.delete(channel.id),
            audits=[_audit("Channel deleted", message.actor, channel, None)],
            changes=[_change("deleted", channel)],
        )
        return Durable(channel, commit)

    @handle.register
    def _add_binding(self, message: AddBinding) -> Durable[ChannelBinding]:
        channel = self._require()
        rules.check_new_binding(self.bindings, message.spec)
        now = self._now()
        spec = message.spec
        binding = ChannelBinding(
            id=f"bnd_{uuid.uuid4().hex}",
            channel_id=channel.id,
            mode=spec.mode,
            target_type=spec.target_type,
            target=spec.target,
            direction=spec.direction,
            created_at=now,
        )
        self.channel = channel = _touched(channel, now)
        self.bindings = (*self.bindings, binding)
        self.recent.clear()  # routed on the bindings of before: repeats route afresh
        commit = write_with_audit(
            self.rt,
            self.write,
            lambda: channel_store.insert_binding(binding, now),
            audits=[_audit("Channel binding added", message.actor, channel, binding)],
            changes=[_change("binding-added", channel, binding)],
        )
        return Durable(binding, commit)

    @handle.register
    def _remove_binding(self, message: RemoveBinding) -> Durable[ChannelBinding]:
        channel = self._require()
        binding = next((b for b in self.bindings if b.id == message.binding_id), None)
        if binding is None:
            raise NotFound("binding not found")
        now = self._now()
        self.channel = channel = _touched(channel, now)
        self.bindings = tuple(b for b in self.bindings if b.id != binding.id)
        self.recent.clear()  # routed on the bindings of before: repeats route afresh
        commit = write_with_audit(
            self.rt,
            self.write,
            lambda: channel_store.delete_binding(channel.id, binding.id, now),
            audits=[_audit("Channel binding removed", message.actor, channel, binding)],
            changes=[_change("binding-removed", channel, binding)],
        )
        return Durable(binding, commit)

    @handle.register
    def _route(self, message: Route) -> ChannelRoute | Durable[ChannelRoute]:
        channel = self._require()
        key = (
            (message.sender, message.client_message_id)
            if message.commit and message.client_message_id is not None
            else None
        )
        now = self._now()
        known = self._recent(key, now) if key is not None else None
        if known is not None:
            # A racing repeat of a send routed just now: its route, and no second pick.
            return self.durable(replace(known, channel=channel))
        floors = rules.live_floors(self.floors, now)
        loads = rules.effective_loads(message.loads, floors)
        agents, sender = message.agents, message.sender
        targets = rules.route(self.bindings, agents, loads, self.last_chosen, sender)
        pick = rules.exclusive_pick(self.bindings, agents, loads, self.last_chosen, sender)
        chosen = pick[0] if pick is not None else None
        reply = ChannelRoute(channel, targets, chosen, agents)
        limit = self.rt.settings.channel_max_recipients
        if key is not None and rules.worth_remembering(len(targets), limit):
            self.recent[key] = (now + rules.RECENT_ROUTE_MS, reply)
            self.recent.move_to_end(key)
            while len(self.recent) > RECENT_PICKS:
                self.recent.popitem(last=False)
        if not message.commit or chosen is None:
            self.floors = floors
            return self.durable(reply)
        # Pick and record in one step: the next Route, however soon, sees this pick.
        self.floors = rules.after_pick(floors, loads, chosen, now)
        memory = rules.after_choosing(self.last_chosen, chosen)
        self.last_chosen = memory
        commit = self.write(lambda: channel_store.save_last_chosen(self.key, memory))
        return Durable(reply, commit)

    def _recent(self, key: tuple[str | None, str], now: int) -> ChannelRoute | None:
        """The route remembered for ``key`` if still live; drops the ones that are not."""
        # Oldest first, each for the same window: drop from the front while ended. (Should
        # the clock step back, one behind a live entry may have ended: checked below.)
        while self.recent:
            oldest = next(iter(self.recent))
            if rules.recent_is_live(self.recent[oldest][0], now):
                break
            del self.recent[oldest]
        found = self.recent.get(key)
        if found is None or not rules.recent_is_live(found[0], now):
            return None
        return found[1]

    @handle.register
    def _record_chosen(self, message: RecordChosen) -> Durable[None] | None:
        if self.channel is None:
            return None
        memory = rules.after_choosing(self.last_chosen, message.agent_id)
        self.last_chosen = memory
        commit = self.write(lambda: channel_store.save_last_chosen(self.key, memory))
        return Durable(None, commit)


def _touched(channel: Channel, now: int) -> Channel:
    return replace(channel, updated_at=now)
