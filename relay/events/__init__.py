"""The live event stream: publishing (from any thread) and live subscriptions (on trio).

``publish`` is thread-safe, non-blocking and never raises into its caller. It queues
the append of the event to the stream log on the store's ordered writer, so an event
published right after an actor queued its state write is stored after that write;
once the append is committed the stored event (its database id is the SSE id) is
handed to the trio thread and offered to every live subscriber, in id order
(gathered over a short batch window, so a burst wakes each subscriber once).

A subscriber is one SSE client with a bounded buffer. Offering never waits: a
client whose buffer is full is dropped (its stream ends after what it has already
buffered, and the client reconnects with ``Last-Event-ID``), so a slow client can
neither grow memory nor stall the publisher or the other clients.

Two kinds of frame carry no SSE id (``Ephemeral``): they are never stored, never
replayed and do not move a client's Last-Event-ID.

- ``presence``: heartbeats that change no status only touch an in-memory board
  (``PresenceBoard``, a dict assignment per beat); once per window (1 s) the hub sends
  each stream the ids whose time moved in that window that its filter admits, encoded
  once per distinct filter. A client with a full buffer misses that window's frame
  rather than being dropped for it: presence is a hint, its REST reads are the truth.
- ``signed-out``: the last frame of a stream whose token was revoked (``token_revoked``,
  called by the revoke path) or expired (``stream_frames`` watches ``exp``).

The package: ``hub`` (``EventHub``: publishing, commit order, fan-out), ``filters``
(``StreamFilter`` and its guards' protocols, ``EventGuard`` and ``RedactingGuard``),
``deliveries`` (``Delivery``, ``Batch``, ``Ephemeral``), ``subscription``
(``Subscription``), ``presence`` (``PresenceBoard``), ``names`` (``EVENT_NAMES``) and
``stats`` (``HubStats``); importers use the names below.
"""

from __future__ import annotations

from relay.event_frames import encode_frame
from relay.events.deliveries import (
    SIGNED_OUT_EXPIRED,
    SIGNED_OUT_REVOKED,
    Batch,
    Delivery,
    Ephemeral,
)
from relay.events.filters import EventGuard, RedactingGuard, StreamFilter
from relay.events.hub import FAN_OUT_WRITES_PER_SECOND, EventHub
from relay.events.names import EVENT_NAMES
from relay.events.presence import PRESENCE_WINDOW_SECONDS, PresenceBoard
from relay.events.stats import HubStats
from relay.events.subscription import StreamCredential, Subscription
from relay.store.stream import StreamEvent

__all__ = [
    "EVENT_NAMES",
    "FAN_OUT_WRITES_PER_SECOND",
    "PRESENCE_WINDOW_SECONDS",
    "SIGNED_OUT_EXPIRED",
    "SIGNED_OUT_REVOKED",
    "Batch",
    "Delivery",
    "Ephemeral",
    "EventGuard",
    "EventHub",
    "HubStats",
    "PresenceBoard",
    "RedactingGuard",
    "StreamCredential",
    "StreamEvent",
    "StreamFilter",
    "Subscription",
    "encode_frame",
]
