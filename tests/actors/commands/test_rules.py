"""Command rules: the transition table, delivery and redelivery, expiry."""

from __future__ import annotations

import pytest

from relay.actors.commands.rules import (
    check_transition,
    deliver,
    deliverable,
    is_expired,
    new_command,
    next_wake,
)
from relay.domain.commands import STATUSES, CommandSpec, CommandStatus
from relay.errors import Conflict

OPEN_TO = {"running", "succeeded", "failed", "cancelled"}
LEGAL = (
    {("queued", to) for to in OPEN_TO}
    | {("delivered", to) for to in OPEN_TO}
    | {("running", to) for to in OPEN_TO}
)
SETTLED = ("succeeded", "failed", "cancelled", "expired")


@pytest.mark.parametrize("current", STATUSES)
@pytest.mark.parametrize("requested", STATUSES)
def test_transition_table(current: CommandStatus, requested: CommandStatus) -> None:
    if current in SETTLED:
        if requested == current:
            assert check_transition(current, requested) == "repeat"
        else:
            with pytest.raises(Conflict, match=r"^command already settled$"):
                check_transition(current, requested)
    elif (current, requested) in LEGAL:
        assert check_transition(current, requested) == "apply"
    else:
        with pytest.raises(Conflict, match=rf"^cannot move a command from {current} to "):
            check_transition(current, requested)


def spec(type_: str = "test.noop", ttl: int | None = 600) -> CommandSpec:
    return CommandSpec(type=type_, target="o1", target_kind="orchestrator", ttl_seconds=ttl)


def test_new_command_is_queued_with_ttl() -> None:
    command = new_command(spec(ttl=10), now=1_000)
    assert command.id.startswith("cmd_")
    assert command.status == "queued"
    assert command.expires_at == 11_000
    assert command.attempts == 0


def test_cleanup_commands_never_expire() -> None:
    command = new_command(spec("workspace.cleanup", ttl=10), now=1_000)
    assert command.expires_at is None
    assert not is_expired(command, now=10**12)


def test_delivered_command_is_redelivered_after_ack_timeout() -> None:
    command = deliver(new_command(spec(), now=0), now=0, ack_timeout_ms=60_000)
    assert command.attempts == 1
    assert not deliverable(command, now=59_999)
    assert deliverable(command, now=60_000)
    again = deliver(command, now=60_000, ack_timeout_ms=60_000)
    assert again.attempts == 2


def test_expired_command_is_not_deliverable() -> None:
    command = new_command(spec(ttl=5), now=0)
    assert deliverable(command, now=4_999)
    assert is_expired(command, now=5_000)
    assert not deliverable(command, now=5_000)


def test_next_wake_is_the_earliest_redelivery_or_expiry() -> None:
    queued = new_command(spec(ttl=100), now=0)
    delivered = deliver(new_command(spec(ttl=100), now=0), now=0, ack_timeout_ms=30_000)
    assert next_wake([queued, delivered]) == 30_000
    assert next_wake([]) is None


def test_runner_tokens_are_redacted_at_any_depth() -> None:
    from relay.domain.commands import redact_params

    params = {"runnerToken": "t", "restartSpawn": {"runnerToken": "t", "cwd": "/x"}, "n": [1]}
    assert redact_params(params) == {
        "runnerToken": "[redacted]",
        "restartSpawn": {"runnerToken": "[redacted]", "cwd": "/x"},
        "n": [1],
    }
