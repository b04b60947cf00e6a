"""The hub's counters, read by ``/metrics``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["HubStats"]


@dataclass
class HubStats:
    """Counters for ``/metrics``; touched on the trio thread only."""

    published: Counter[str] = field(default_factory=Counter)
    frames_sent: int = 0
    dropped: int = 0
    presence_windows: int = 0
    presence_encodings: int = 0
    presence_skipped: int = 0  # a full buffer: that client missed one window
