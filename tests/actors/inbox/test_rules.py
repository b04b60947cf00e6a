"""The delivery state machine, with an explicit ``now`` (ms)."""

from __future__ import annotations

from dataclasses import replace

from relay.actors.inbox import rules
from relay.domain.messages import Delivery, Message


def message(
    *, ack_required: bool = True, max_attempts: int = 2, expires_at: int = 100_000
) -> Message:
    return Message(
        id="msg_1",
        client_message_id="c",
        conversation_id="cnv_1",
        seq=1,
        sender="a1",
        to="a2",
        channel_id=None,
        thread_id="msg_1",
        reply_to=None,
        ack_required=ack_required,
        importance="normal",
        body="x",
        attachments=(),
        max_attempts=max_attempts,
        expires_at=expires_at,
        created_at=0,
    )


def queued(**fields: object) -> Delivery:
    return rules.queued("dlv_1", message(**fields), "a2", 1, now=10)  # type: ignore[arg-type]


def test_accepted_is_queued_attempt_zero() -> None:
    d = queued()
    assert (d.state, d.attempt, d.position, d.queued_at) == ("queued", 0, 1, 10)
    assert d.lease_id is None


def test_fetch_leases_an_ack_required_delivery() -> None:
    d = rules.hand_out(queued(), "ls_1", 5_000, now=20)
    assert (d.state, d.attempt, d.lease_id, d.lease_expires_at) == ("leased", 1, "ls_1", 5_000)


def test_fetch_acks_a_delivery_that_needs_no_ack() -> None:
    d = rules.hand_out(queued(ack_required=False), "ls_1", 5_000, now=20)
    assert (d.state, d.attempt, d.lease_id, d.acked_at, d.ended_at) == ("acked", 1, "ls_1", 20, 20)


def test_nothing_is_due_before_the_lease_expires() -> None:
    d = rules.hand_out(queued(), "ls_1", 5_000, now=20)
    assert rules.due(d, now=4_999) is None
    assert rules.due(queued(), now=99_999) is None


def test_an_expired_lease_requeues_below_max_attempts() -> None:
    d = rules.hand_out(queued(), "ls_1", 5_000, now=20)
    after = rules.due(d, now=5_000)
    assert after is not None
    assert (after.state, after.attempt, after.lease_id, after.position) == ("queued", 1, None, 1)
    assert rules.change_name(d, after) == "requeued"


def test_an_expired_lease_dead_letters_at_max_attempts() -> None:
    d = replace(rules.hand_out(queued(), "ls_1", 5_000, now=20), attempt=2)
    after = rules.due(d, now=5_000)
    assert after is not None
    assert (after.state, after.ended_at) == ("dead_lettered", 5_000)


def test_message_expiry_wins_over_the_lease() -> None:
    d = rules.hand_out(queued(expires_at=5_000), "ls_1", 5_000, now=20)
    after = rules.due(d, now=5_000)
    assert after is not None
    assert after.state == "expired"
    expired_queued = rules.due(queued(expires_at=5_000), now=5_000)
    assert expired_queued is not None
    assert expired_queued.state == "expired"


def test_final_states_never_change() -> None:
    for state in ("acked", "expired", "dead_lettered"):
        assert rules.due(replace(queued(), state=state), now=10**12) is None


def test_ack_outcomes() -> None:
    leased = rules.hand_out(queued(), "ls_1", 5_000, now=20)
    assert rules.ack_outcome(leased, "ls_1", now=4_999) == "ack"
    assert rules.ack_outcome(leased, "ls_1", now=5_000) == "refuse"  # past its lease
    assert rules.ack_outcome(leased, "ls_2", now=30) == "refuse"  # another lease
    assert rules.ack_outcome(rules.acked(leased, now=30), "ls_1", now=40) == "already"
    assert rules.ack_outcome(queued(), "ls_1", now=30) == "refuse"
