"""The memory broker's reply shape (``MemoryBrokerContext``), as ``/openapi.json`` documents
it; beside ``responses.py``, which is big enough."""

from __future__ import annotations

from typing import Literal

from relay.http.responses import Shape


class BrokerItem(Shape):
    id: str
    scope: Literal["agent", "repo", "global"]
    scope_key: str
    type: str
    title: str
    body: str
    tags: list[str]
    confidence: Literal["low", "medium", "high"]
    pinned: bool
    chars: int


class BrokerOmitted(Shape):
    id: str
    chars: int
    reason: Literal["maxChars", "maxItems"]


class MemoryBrokerContext(Shape):
    agent_id: str
    items: list[BrokerItem]
    omitted: list[BrokerOmitted]
    omitted_count: int
    chars_used: int
