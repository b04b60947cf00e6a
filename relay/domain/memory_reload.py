"""An agent's ``memory-reload:T`` card tags: the memory tags pinned for it.

One rule read by the compact (``params.memoryReload``) and by the broker (pinned items
first), so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable

MEMORY_RELOAD_PREFIX = "memory-reload:"


def reload_tags(card_tags: Iterable[str]) -> list[str]:
    """The suffixes T of the ``memory-reload:T`` tags: in tag order, de-duplicated, empty
    ones dropped (``[]`` when none)."""
    found: list[str] = []
    for tag in card_tags:
        if tag.startswith(MEMORY_RELOAD_PREFIX):
            suffix = tag.removeprefix(MEMORY_RELOAD_PREFIX)
            if suffix and suffix not in found:
                found.append(suffix)
    return found
