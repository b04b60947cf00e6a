"""One lifecycle action at a time: when a shutdown, restart or resume counts as in flight."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from relay.actors.agent.action_rules import lifecycle_conflict
from relay.actors.agent.rules import (
    RESERVATION_GRACE_MS,
    abort_lifecycle,
    begin_lifecycle,
    lifecycle_in_flight,
)
from relay.actors.agent.support import availability
from relay.domain.commands import Command, CommandStatus
from relay.errors import Conflict
from tests.actors.agent.test_action_rules import CLAUDE, NOW, card, orchestrator

COMMAND_ID = "cmd_1"
TTL_MS = 600_000


def command(status: CommandStatus = "queued", **fields: Any) -> Command:
    base = Command(
        id=COMMAND_ID,
        type="agent.restart",
        source="root",
        target="o1",
        target_kind="orchestrator",
        correlation_id=None,
        params={"action": "restart", "agentId": "a1"},
        status=status,
        result=None,
        error=None,
        attempts=0,
        created_at=NOW,
        updated_at=NOW,
        expires_at=NOW + TTL_MS,
    )
    return replace(base, **fields)


RESERVED = begin_lifecycle(card(meta=CLAUDE), "restart", COMMAND_ID, NOW)


def test_a_card_with_no_lifecycle_command_is_free() -> None:
    assert lifecycle_in_flight(card(meta=CLAUDE), None, NOW) is False


@pytest.mark.parametrize(
    ("status", "in_flight"),
    [
        ("queued", True),
        ("delivered", True),
        ("running", True),
        ("succeeded", False),
        ("failed", False),
        ("cancelled", False),
        ("expired", False),
    ],
)
def test_in_flight_until_the_command_settles(status: CommandStatus, in_flight: bool) -> None:
    assert lifecycle_in_flight(RESERVED, command(status), NOW + 1) is in_flight


@pytest.mark.parametrize("status", ["queued", "delivered"])
def test_a_command_past_its_ttl_is_not_in_flight_before_the_job_marks_it(
    status: CommandStatus,
) -> None:
    assert lifecycle_in_flight(RESERVED, command(status), NOW + TTL_MS - 1) is True
    assert lifecycle_in_flight(RESERVED, command(status), NOW + TTL_MS) is False


def test_a_running_command_past_its_ttl_is_left_to_finish() -> None:
    assert lifecycle_in_flight(RESERVED, command("running"), NOW + TTL_MS) is True


def test_a_command_with_no_ttl_stays_in_flight() -> None:
    assert lifecycle_in_flight(RESERVED, command(expires_at=None), NOW + 10 * TTL_MS) is True


def test_a_reservation_not_yet_stored_blocks_within_its_grace() -> None:
    assert lifecycle_in_flight(RESERVED, None, NOW) is True
    assert lifecycle_in_flight(RESERVED, None, NOW + RESERVATION_GRACE_MS - 1) is True


def test_a_reservation_whose_command_never_got_stored_lapses() -> None:
    assert lifecycle_in_flight(RESERVED, None, NOW + RESERVATION_GRACE_MS) is False


def test_a_reservation_without_a_time_does_not_block() -> None:
    meta = {**CLAUDE, "lifecycleCommandId": COMMAND_ID}
    assert lifecycle_in_flight(card(meta=meta), None, NOW) is False


def test_another_commands_row_counts_as_no_command() -> None:
    other = command("queued", id="cmd_other")
    assert lifecycle_in_flight(RESERVED, other, NOW + RESERVATION_GRACE_MS) is False


def test_the_conflict_names_the_agent() -> None:
    refusal = lifecycle_conflict("a1")
    assert isinstance(refusal, Conflict)
    assert refusal.message == "a lifecycle action is already in progress for agent a1"


def test_aborting_clears_the_fields_and_restores_ready() -> None:
    ready = replace(card(meta=CLAUDE), ready=True)
    reserved = begin_lifecycle(ready, "shutdown", COMMAND_ID, NOW)
    assert reserved.ready is False
    aborted = abort_lifecycle(reserved, COMMAND_ID, ready=True)
    assert aborted == ready


def test_aborting_another_commands_reservation_changes_nothing() -> None:
    assert abort_lifecycle(RESERVED, "cmd_other", ready=True) is None


def test_support_lists_lifecycle_actions_as_busy_after_their_own_checks() -> None:
    agent = replace(card(meta=CLAUDE, orchestrator_id="o1"), provider_capabilities=None)
    found = {
        entry.action: (entry.available, entry.reason)
        for entry in availability(agent, [orchestrator("o1")], [], lifecycle_busy=True)
    }
    assert found["restart"] == (False, "a lifecycle action is already in progress")
    assert found["shutdown"] == (False, "a lifecycle action is already in progress")
    # Unsupported keeps its own reason; session controls are not affected.
    assert found["compact"] == (False, "agent does not support compact")
    assert found["resume"][1] != "a lifecycle action is already in progress"
