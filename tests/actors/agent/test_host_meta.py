"""The host-meta rule: which writes of a card's meta would steer its host."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors.agent.host_meta import (
    host_meta_changes,
    moves_past_paths,
    relabels_past,
    steers_host,
)


@pytest.mark.parametrize(
    ("stored", "given", "expected"),
    [
        pytest.param({"runnerManaged": True, "cwd": "/a"}, {"cwd": "/a"}, [], id="repeat"),
        pytest.param(
            {"runnerManaged": True, "cwd": "/a"}, {"cwd": "/b", "note": "x"}, ["cwd"], id="cwd"
        ),
        pytest.param({"runnerManaged": True}, {"runnerManaged": 1}, ["runnerManaged"], id="1"),
        pytest.param(
            {"runnerManaged": True, "sessionName": "s"},
            {"sessionName": None},
            ["sessionName"],
            id="deleted",
        ),
        pytest.param({}, {"sessionName": "s", "provider": "codex"}, [], id="no-host-runs-it"),
        pytest.param(
            {},
            {"runnerManaged": True, "sessionName": "s"},
            ["runnerManaged", "sessionName"],
            id="made-managed",
        ),
        pytest.param({"runnerManaged": True}, None, [], id="no-meta"),
    ],
)
def test_host_meta_changes(
    stored: dict[str, Any], given: dict[str, Any] | None, expected: list[str]
) -> None:
    assert host_meta_changes(stored, given) == expected


@pytest.mark.parametrize(
    ("stored_orchestrator", "orchestrator_id", "steers"),
    [
        pytest.param("o1", "o1", False, id="same-place"),
        pytest.param(None, "o1", False, id="placing-an-unplaced-agent"),
        pytest.param("o1", None, False, id="not-moving"),
        pytest.param("o1", "o2", True, id="moving"),
    ],
)
def test_steers_host_by_moving(
    stored_orchestrator: str | None, orchestrator_id: str | None, steers: bool
) -> None:
    assert steers_host({}, stored_orchestrator, {"note": "x"}, orchestrator_id) is steers


def test_steers_host_by_meta() -> None:
    managed = {"runnerManaged": True, "tmuxSession": "relay-a"}
    assert steers_host(managed, "o1", {"tmuxSession": "relay-b"})
    assert not steers_host(managed, "o1", {"tmuxSession": "relay-a"})


@pytest.mark.parametrize(
    ("stored", "written", "moves"),
    [
        pytest.param({"cwd": "/srv/o1/x"}, {"cwd": "/srv/o1/y"}, False, id="within"),
        pytest.param({"cwd": "/srv/o2"}, {"cwd": "/srv/o2"}, False, id="repeat-elsewhere"),
        pytest.param({}, {"note": "x"}, False, id="none-kept"),
        pytest.param(None, {}, True, id="new-at-no-place"),
        pytest.param(None, {"cwd": "/srv/o1/new"}, False, id="new-within"),
        pytest.param(None, {"cwd": "/srv/o2/new"}, True, id="new-elsewhere"),
        pytest.param({"cwd": "/srv/o2"}, {"cwd": "/srv/o1/x"}, True, id="brought-in"),
        pytest.param({}, {"cwd": "/srv/o1/x"}, True, id="adopted-from-nowhere"),
        pytest.param({"cwd": "srv/o1"}, {"cwd": "/srv/o1/x"}, True, id="relative-is-nowhere"),
        pytest.param({"cwd": "/srv/o1/x"}, {"cwd": "/srv/o2"}, True, id="sent-out"),
        pytest.param({"cwd": "/srv/o1/x"}, {}, True, id="cleared"),
    ],
)
def test_a_path_limited_write_moves_no_card_past_its_paths(
    stored: dict[str, Any] | None, written: dict[str, Any], moves: bool
) -> None:
    assert moves_past_paths(("/srv/o1",), stored, written) is moves


P1_ONLY = (("policyName", ("p1",)),)


@pytest.mark.parametrize(
    ("stored", "written", "past"),
    [
        (None, {}, False),  # a new card with no label
        (None, {"policyName": "p1"}, False),  # a new card of its own policy
        (None, {"policyName": "p2"}, True),  # a new card of another's
        ({"policyName": "p2"}, {"policyName": "p2", "x": 1}, False),  # left as it is
        ({"policyName": "p2"}, {"policyName": "p1"}, True),  # taken from another's
        ({"policyName": "p1"}, {"policyName": "p2"}, True),  # handed to another's
        ({}, {"policyName": "p1"}, False),  # an unset label is covered, as in covers
        ({"policyName": "p1"}, {}, False),
        ({"policyName": 7}, {"policyName": "p2"}, True),  # not text: unset, as the route reads it
    ],
)
def test_relabels_past(stored: dict[str, Any] | None, written: dict[str, Any], past: bool) -> None:
    assert relabels_past(P1_ONLY, stored, written) is past
    assert relabels_past((), stored, written) is False  # no such constraint: nothing to judge
