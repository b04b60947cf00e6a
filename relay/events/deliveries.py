"""What a subscription is handed: a committed event's ``Delivery``, a window's ``Batch``
of them, and the frames with no SSE id (``Ephemeral``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from relay.event_frames import encode_ephemeral
from relay.store.stream import StreamEvent

__all__ = [
    "SIGNED_OUT_EXPIRED",
    "SIGNED_OUT_REVOKED",
    "Batch",
    "Delivery",
    "Ephemeral",
    "Item",
]


@dataclass(frozen=True, slots=True)
class Ephemeral:
    """A frame with no SSE id (``presence``, ``signed-out``)."""

    frame: bytes


SIGNED_OUT_REVOKED = Ephemeral(encode_ephemeral("signed-out", {"reason": "token revoked"}))
SIGNED_OUT_EXPIRED = Ephemeral(encode_ephemeral("signed-out", {"reason": "token expired"}))


@dataclass(frozen=True, slots=True)
class Delivery:
    """A committed event and its frame, encoded once and shared by every subscriber."""

    event: StreamEvent
    frame: bytes


@dataclass(frozen=True, slots=True)
class Batch:
    """The committed events of one batch window that one filter admits, in id order, and
    their frames joined once: every subscriber with that filter is handed the same bytes."""

    deliveries: tuple[Delivery, ...]
    chunk: bytes

    @classmethod
    def of(cls, deliveries: Sequence[Delivery]) -> Batch:
        return cls(tuple(deliveries), b"".join(d.frame for d in deliveries))

    @property
    def first_id(self) -> int:
        return self.deliveries[0].event.id

    @property
    def last_id(self) -> int:
        return self.deliveries[-1].event.id

    def __len__(self) -> int:
        return len(self.deliveries)

    def split(self, count: int) -> tuple[Batch, Batch]:
        """The first ``count`` events and the rest (0 < count < len)."""
        return Batch.of(self.deliveries[:count]), Batch.of(self.deliveries[count:])


Item = Batch | Ephemeral
