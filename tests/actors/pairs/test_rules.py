"""The pair state table as pure rules: every action from every status, by every kind of
caller, with the exact refusal."""

from __future__ import annotations

from dataclasses import replace

import pytest

from relay.actors.pairs.rules import TRANSITIONS, Acting, act, check_create, send_check
from relay.domain.pairs import PAIR_STATUSES, Pair, PairAction, PairStatus
from relay.errors import Conflict, Forbidden, Invalid, RelayError

DRIVER = Acting(driver=True)
NAVIGATOR = Acting(navigator=True)
CREATOR = Acting(creator=True)
OPERATOR = Acting(operator=True)
NOBODY = Acting()


def pair(status: PairStatus, joined: tuple[str, ...] = ("d", "n")) -> Pair:
    return Pair(
        id="pair_1",
        driver="d",
        navigator="n",
        task_id=None,
        objective=None,
        conversation_id="cnv_1",
        status=status,
        joined=joined,
        created_by="boss",
        version=3,
        created_at=0,
        updated_at=0,
    )


# (status, action, caller) → the status after, or (error type, message).
TABLE: list[tuple[PairStatus, PairAction, Acting, PairStatus | tuple[type[RelayError], str]]] = [
    ("forming", "join", NAVIGATOR, "active"),
    ("active", "join", NAVIGATOR, "active"),
    ("forming", "join", NOBODY, (Forbidden, "only the driver or navigator may join")),
    ("forming", "join", CREATOR, (Forbidden, "only the driver or navigator may join")),
    ("completed", "join", DRIVER, (Conflict, "pair is completed; cannot join")),
    ("active", "request-review", DRIVER, "awaiting_review"),
    ("active", "request-review", NAVIGATOR, (Forbidden, "only the driver may request-review")),
    ("forming", "request-review", DRIVER, (Conflict, "pair is forming; cannot request-review")),
    (
        "awaiting_review",
        "request-review",
        DRIVER,
        (Conflict, "pair is awaiting_review; cannot request-review"),
    ),
    ("awaiting_review", "request-changes", NAVIGATOR, "active"),
    (
        "awaiting_review",
        "request-changes",
        DRIVER,
        (Forbidden, "only the navigator may request-changes"),
    ),
    ("active", "request-changes", NAVIGATOR, (Conflict, "pair is active; cannot request-changes")),
    ("awaiting_review", "approve", NAVIGATOR, "completed"),
    ("awaiting_review", "approve", DRIVER, (Forbidden, "only the navigator may approve")),
    ("active", "approve", NAVIGATOR, (Conflict, "pair is active; cannot approve")),
    ("forming", "abort", DRIVER, "aborted"),
    ("active", "abort", NAVIGATOR, "aborted"),
    ("awaiting_review", "abort", CREATOR, "aborted"),
    ("active", "abort", OPERATOR, "aborted"),
    ("active", "abort", NOBODY, (Forbidden, "only a party, the creator or an operator may abort")),
    ("aborted", "abort", OPERATOR, (Conflict, "pair is aborted; cannot abort")),
    ("completed", "abort", DRIVER, (Conflict, "pair is completed; cannot abort")),
    ("active", "message", DRIVER, "active"),
    ("awaiting_review", "message", NAVIGATOR, "awaiting_review"),
    ("forming", "message", DRIVER, "forming"),
    ("active", "message", CREATOR, (Forbidden, "only the driver or navigator may message")),
    ("completed", "message", DRIVER, (Conflict, "pair is completed; cannot message")),
]


@pytest.mark.parametrize(("status", "action", "acting", "outcome"), TABLE)
def test_state_table(
    status: PairStatus,
    action: PairAction,
    acting: Acting,
    outcome: PairStatus | tuple[type[RelayError], str],
) -> None:
    before = pair(status, ("d",) if status == "forming" else ("d", "n"))
    if isinstance(outcome, tuple):
        error, message = outcome
        with pytest.raises(error) as raised:
            act(before, action, acting, None, 10)
        assert str(raised.value) == message
        return
    after = act(before, action, acting, None, 10)
    assert after.status == outcome
    if after is before:
        assert after.version == 3
    else:
        assert (after.version, after.updated_at) == (4, 10)


def test_every_action_and_status_is_in_the_table() -> None:
    assert {row[1] for row in TABLE} == set(TRANSITIONS)
    assert {row[0] for row in TABLE} == set(PAIR_STATUSES)


def test_join_records_the_party_and_a_repeat_changes_nothing() -> None:
    forming = pair("forming", ("d",))
    again = act(forming, "join", DRIVER, None, 10)
    assert again is forming
    joined = act(forming, "join", NAVIGATOR, None, 10)
    assert joined.joined == ("d", "n")
    assert act(joined, "join", NAVIGATOR, None, 11) is joined


def test_a_caller_acting_for_both_joins_both() -> None:
    both = Acting(driver=True, navigator=True, operator=True)
    assert act(pair("forming", ()), "join", both, None, 1).status == "active"


def test_a_stale_version_is_refused() -> None:
    with pytest.raises(Conflict) as raised:
        act(pair("active"), "request-review", DRIVER, 2, 10)
    assert str(raised.value) == "version conflict: current version is 3"
    assert act(pair("active"), "request-review", DRIVER, 3, 10).status == "awaiting_review"


def test_create_checks() -> None:
    with pytest.raises(Invalid, match="driver and navigator must differ"):
        check_create("a", "a", None)
    with pytest.raises(Invalid, match="objective must be at most 2000 characters"):
        check_create("a", "b", "x" * 2001)
    check_create("a", "b", "x" * 2000)


def test_a_final_pair_takes_no_messages() -> None:
    send_check(pair("awaiting_review"))
    for status in ("completed", "aborted"):
        with pytest.raises(Conflict) as raised:
            send_check(replace(pair("active"), status=status))
        assert str(raised.value) == f"pair is {status}"
