"""What a session is told after a compact: reload its pinned memories through the broker.

The ``agent.compact`` command's ``params.memoryReload`` names memory tags (the suffixes of
the card's ``memory-reload:T`` tags), never memory text. The daemon types one instruction
after the provider's compact; the provider queues it until the compact ends, and the agent
then calls the relay MCP tool ``memory_context``, which serves the pinned memories first
within its budget. Pure: no I/O.
"""

from __future__ import annotations

import re

from relay.daemon.outcome import JSON

# Tags as the relay accepts them (memory.md); anything else is not typed into a terminal.
_TAG = re.compile(r"[A-Za-z0-9._:-]{1,64}")
MAX_TAGS = 20


def reload_tags(params: JSON) -> list[str]:
    """The well-formed tag names of ``params.memoryReload``, in order, de-duplicated."""
    raw = params.get("memoryReload")
    if not isinstance(raw, list):
        return []
    tags: list[str] = []
    for item in raw:
        if isinstance(item, str) and _TAG.fullmatch(item) and item not in tags:
            tags.append(item)
    return tags[:MAX_TAGS]


def reload_instruction(tags: list[str]) -> str | None:
    """The line typed after the compact, or ``None`` when nothing is pinned."""
    if not tags:
        return None
    return (
        "Your context was compacted. Reload your memory now: call the relay MCP tool "
        "memory_context (no arguments needed; it serves the memories tagged "
        f"{', '.join(tags)} first) and keep what it returns in mind."
    )
