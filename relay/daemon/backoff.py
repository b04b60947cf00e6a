"""Capped exponential backoff with jitter, for reconnects and retried reports."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    """``next()`` gives ``initial * 2**n`` capped at ``maximum``, scaled by a random 0.5 to 1.0.

    The jitter spreads the reconnects of many daemons after a relay restart.
    """

    initial: float = 0.5
    maximum: float = 30.0
    attempts: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next(self) -> float:
        ceiling = min(self.maximum, self.initial * float(2 ** min(self.attempts, 32)))
        self.attempts += 1
        jitter: float = self.rng.uniform(0.5, 1.0)
        return ceiling * jitter

    def reset(self) -> None:
        self.attempts = 0


def jittered(interval: float, rng: random.Random | None = None) -> float:
    """A heartbeat period: ``interval`` shortened by up to 20 %, never lengthened."""
    return interval * (rng or random).uniform(0.8, 1.0)
