"""A compact's ``params.memoryReload``: the card's ``memory-reload:T`` tags as a list of T."""

from __future__ import annotations

import pytest

from relay.domain.memory_reload import reload_tags


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ((), []),
        (("team", "lang:py"), []),
        (("memory-reload:build", "x", "memory-reload:style"), ["build", "style"]),
        (("memory-reload:b", "memory-reload:a", "memory-reload:b"), ["b", "a"]),
        (("memory-reload:", "memory-reload:a"), ["a"]),
        (("memory-reload:a:b",), ["a:b"]),
        (("Memory-Reload:a", "memory-reloadx:a"), []),
    ],
)
def test_memory_reload_keeps_tag_order_dedupes_and_drops_empties(
    tags: tuple[str, ...], expected: list[str]
) -> None:
    assert reload_tags(tags) == expected
