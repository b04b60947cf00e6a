"""When the cyclic garbage collector runs: young generations as usual, full passes on a schedule.

Every live actor is a thread with its mailbox, locks and futures (about 60 tracked objects),
so with thousands of active agents CPython's automatic full collection walks a few hundred
thousand objects while holding the GIL: a 100+ ms stall of every request, at moments
nobody chose. Reference counting frees almost everything relay allocates; the full pass
only reclaims cycles. So automatic full passes are off while serving and the maintenance
job ``garbage-collection`` runs one at a fixed interval instead, its duration reported
like any job's.
"""

from __future__ import annotations

import gc
import time
from typing import Any

# CPython counts young collections against this before a full pass: never reached.
_NO_AUTOMATIC_FULL_PASS = 2**31 - 1


def tune_for_serving() -> None:
    """Freeze start-up objects out of every later pass; full passes only from the job."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, _NO_AUTOMATIC_FULL_PASS)


def full_collection() -> dict[str, Any]:
    """One full pass now; what it reclaimed and how long the process stood still."""
    started = time.perf_counter()
    collected = gc.collect()
    return {
        "collected": collected,
        "ms": round((time.perf_counter() - started) * 1000, 1),
        "tracked": len(gc.get_objects(generation=2)),
    }
