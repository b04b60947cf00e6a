"""The one JSON decoder for everything a client sends: HTTP bodies and WebSocket frames.

Strict where Python's ``json`` is lax, so nothing stored can later fail to encode or
be rejected by a browser's ``JSON.parse``: it refuses lone UTF-16 surrogates (raw or
``\\ud800``-escaped), ``NaN``/``Infinity`` and numbers that overflow to infinity
(``1e400``). msgspec's decoder already refuses each of these, and is faster than
``json`` besides.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["MalformedJSON", "decode_json"]

_decoder = msgspec.json.Decoder()


class MalformedJSON(ValueError):
    """The input is not strict JSON; ``too_deep`` when only its nesting is at fault."""

    def __init__(self, *, too_deep: bool = False) -> None:
        super().__init__("nested too deeply" if too_deep else "malformed JSON")
        self.too_deep = too_deep


def decode_json(raw: bytes | str) -> Any:
    """Decode one JSON document.

    Raises:
        MalformedJSON: not UTF-8, not JSON, a lone surrogate, a non-finite number, or
            nesting deeper than the interpreter's recursion limit.
    """
    try:
        return _decoder.decode(raw)
    except msgspec.DecodeError:  # also msgspec.ValidationError: "Number out of range"
        raise MalformedJSON() from None
    except RecursionError:  # e.g. "[[[[…" a hundred thousand deep
        raise MalformedJSON(too_deep=True) from None
