"""SSE frames: one committed stream event as ``id``, ``event`` and one line of strict JSON.

Encoded once per event and shared by every subscriber (``relay.events``), and by the
replay of the log (``relay.http.events``).
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from relay.store.stream import StreamEvent

__all__ = ["encode_ephemeral", "encode_frame"]

log = logging.getLogger("relay.events")


def encode_frame(event: StreamEvent) -> bytes:
    """One SSE frame: ``id``, ``event`` and the data as one line of strict JSON.

    Never raises: data that strict JSON cannot carry (a lone surrogate, NaN, stored
    before the decoder refused them) is sent with those values replaced, and logged,
    so one bad event neither ends the relay nor blocks a client's replay past it.
    """
    try:
        data = json.dumps(event.data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return _frame(event, data.encode())
    except (ValueError, TypeError, RecursionError) as exc:  # UnicodeEncodeError is a ValueError
        log.warning("sse_frame_repaired event_id=%d event=%s error=%r", event.id, event.event, exc)
        data = json.dumps(_strict(event.data), separators=(",", ":"), ensure_ascii=True)
        return _frame(event, data.encode())


def encode_ephemeral(event: str, data: dict[str, Any]) -> bytes:
    """A frame with no ``id``: it is never stored, never replayed and does not move the
    client's Last-Event-ID (``presence``, ``signed-out``). ``data`` is built by the relay
    (ids, integers, fixed text), so strict JSON always carries it."""
    encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return b"event: %s\ndata: %s\n\n" % (event.encode(), encoded.encode())


def _frame(event: StreamEvent, data: bytes) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event.id, event.event.encode(), data)


def _strict(value: Any, depth: int = 0) -> Any:
    """``value`` with what strict JSON cannot carry replaced: non-finite numbers by null,
    lone surrogates by "?", anything else unencodable by its ``repr``."""
    if depth > 64:
        return None
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {_strict(str(k), depth + 1): _strict(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(item, depth + 1) for item in value]
    return _strict(repr(value), depth + 1)
