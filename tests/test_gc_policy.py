"""Full garbage-collection passes run on the maintenance schedule, not automatically."""

from __future__ import annotations

import gc

import pytest

from relay import gc_policy


@pytest.mark.usefixtures("restore_gc")
def test_serving_turns_off_automatic_full_passes_and_freezes_start_up_objects() -> None:
    young, middle, _ = gc.get_threshold()

    gc_policy.tune_for_serving()

    assert gc.get_threshold()[:2] == (young, middle)  # young generations as before
    assert gc.get_threshold()[2] >= 2**31 - 1
    assert gc.get_freeze_count() > 0


def test_the_scheduled_pass_reclaims_cycles_and_reports_it() -> None:
    class Node:
        other: object

    gc.collect()
    for _ in range(100):
        a, b = Node(), Node()
        a.other, b.other = b, a
    del a, b

    report = gc_policy.full_collection()

    assert report["collected"] >= 200
    assert report["ms"] >= 0
    assert report["tracked"] >= 0
