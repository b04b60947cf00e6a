"""The wake rule as pure functions: who is woken, on which orchestrator, with what params,
and the one-unsettled-wake check that the orchestrator's queue repeats at enqueue time."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from relay.actors.agent.wake_rules import (
    WAKE,
    WakeRequest,
    session_name,
    wake_orchestrator,
    wake_params,
    wake_spec,
)
from relay.actors.commands.rules import open_about
from relay.domain.agents import AgentCard
from relay.domain.commands import Command, CommandStatus
from relay.domain.orchestrators import Orchestrator
from tests.actors.agent.test_action_rules import NOW, card, orchestrator

MANAGED = {"runnerManaged": True, "sessionName": "relay-sp_1", "tmuxSession": "relay-sp_1"}


def managed(**fields: Any) -> AgentCard:
    return card(meta={**MANAGED, **fields.pop("meta", {})}, orchestrator_id="o1", **fields)


def wake(
    agent_id: str = "a1",
    *,
    status: CommandStatus = "queued",
    type_: str = WAKE,
    expires_at: int | None = NOW + 300_000,
) -> Command:
    return Command(
        id="cmd_w",
        type=type_,
        source="relay",
        target="o1",
        target_kind="orchestrator",
        correlation_id=None,
        params={"agentId": agent_id},
        status=status,
        result=None,
        error=None,
        attempts=0,
        created_at=NOW,
        updated_at=NOW,
        expires_at=expires_at,
    )


ONLINE = [orchestrator("o1")]


def chosen(
    agent: AgentCard | None,
    online: list[Orchestrator] | None = None,
    unsettled: list[Command] | None = None,
) -> str | None:
    found = wake_orchestrator(agent, ONLINE if online is None else online, unsettled or [], NOW)
    return found.id if found else None


def test_a_runner_managed_agent_is_woken_on_its_orchestrator() -> None:
    assert chosen(managed()) == "o1"


@pytest.mark.parametrize(
    "agent",
    [
        pytest.param(None, id="no-card"),
        pytest.param(card(orchestrator_id="o1"), id="not-runner-managed"),
        pytest.param(
            card(meta={**MANAGED, "runnerManaged": "true"}, orchestrator_id="o1"),
            id="runnerManaged-not-literally-true",
        ),
        pytest.param(card(meta={"runnerManaged": True}, orchestrator_id="o1"), id="no-session"),
    ],
)
def test_no_wake_for_an_agent_without_a_runner_session(agent: AgentCard | None) -> None:
    assert chosen(agent) is None


@pytest.mark.parametrize(
    "online",
    [
        pytest.param([], id="none-online"),
        pytest.param([orchestrator("o1", status="offline")], id="offline"),
        pytest.param([orchestrator("o1", status="stale")], id="stale"),
        pytest.param([orchestrator("o2")], id="only-another"),
    ],
)
def test_no_wake_unless_its_orchestrator_is_online(online: list[Orchestrator]) -> None:
    assert chosen(managed(), online) is None


LISTS_A1 = orchestrator("o2", managed=(("a1", "relay-sp_1"),))
LISTS_ITS_SESSION = orchestrator("o2", managed=(("other", "relay-sp_1"),))


@pytest.mark.parametrize(
    "online",
    [
        pytest.param([orchestrator("o1", status="offline"), LISTS_A1], id="o1-offline"),
        pytest.param([orchestrator("o1", status="stale"), LISTS_A1], id="o1-stale"),
        pytest.param([LISTS_A1], id="o1-unknown"),
        pytest.param([orchestrator("o1", status="offline"), LISTS_ITS_SESSION], id="by-session"),
        pytest.param(
            [orchestrator("o1", status="offline"), orchestrator("o2", agent_id="o1")],
            id="o2-whose-agent-id-is-the-card-s-orchestrator",
        ),
    ],
)
def test_no_wake_on_another_orchestrator_while_the_card_s_own_is_not_online(
    online: list[Orchestrator],
) -> None:
    # o2 lists a1 (or its session), but a1 is stored under o1: a wake there would type
    # into a session on a host no caller has said is a1's.
    assert chosen(managed(), online) is None


@pytest.mark.parametrize(
    "online",
    [
        pytest.param([LISTS_A1], id="listed-by-agent"),
        pytest.param([LISTS_ITS_SESSION], id="listed-by-session"),
        pytest.param([orchestrator("o2", agent_id="a1")], id="o2-whose-agent-id-is-a1"),
    ],
)
def test_no_wake_for_a_card_that_names_no_orchestrator(online: list[Orchestrator]) -> None:
    assert chosen(replace(managed(), orchestrator_id=None), online) is None


def test_the_card_s_own_orchestrator_is_woken_even_when_another_lists_the_agent() -> None:
    online = [orchestrator("o0", managed=(("a1", "relay-sp_1"),)), orchestrator("o1")]
    assert chosen(managed(), online) == "o1"


@pytest.mark.parametrize("status", ["queued", "delivered", "running"])
def test_no_second_wake_while_one_is_unsettled(status: CommandStatus) -> None:
    assert chosen(managed(), unsettled=[wake(status=status)]) is None


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(wake(status="succeeded"), id="settled"),
        pytest.param(wake(status="failed"), id="failed"),
        pytest.param(wake(status="expired"), id="expired"),
        pytest.param(wake(expires_at=NOW), id="past-its-ttl"),
        pytest.param(wake(agent_id="a2"), id="another-agent"),
        pytest.param(wake(type_="agent.restart"), id="another-type"),
    ],
)
def test_what_does_not_hold_a_wake_back(other: Command) -> None:
    assert chosen(managed(), unsettled=[other]) == "o1"


def test_a_running_wake_past_its_ttl_still_holds_it_back() -> None:
    # A running command is left to finish (it never expires), so it is still unsettled.
    assert open_about([wake(status="running", expires_at=NOW - 1)], WAKE, "a1", NOW) is not None


def test_session_name_prefers_session_name_then_tmux_session() -> None:
    assert session_name(managed()) == "relay-sp_1"
    only_tmux = card(meta={"runnerManaged": True, "tmuxSession": "t-1"})
    assert session_name(only_tmux) == "t-1"
    assert session_name(card(meta={"sessionName": ""})) is None


def test_the_params_and_the_command_spec() -> None:
    request = WakeRequest("message", "msg_1", "agent-b", "high")
    assert wake_params(managed(), request) == {
        "agentId": "a1",
        "sessionName": "relay-sp_1",
        "reason": "message",
        "messageId": "msg_1",
        "from": "agent-b",
        "importance": "high",
    }
    spec = wake_spec(managed(), orchestrator("o1"), request, ttl_seconds=300)
    assert (spec.type, spec.target, spec.target_kind) == (WAKE, "o1", "orchestrator")
    assert (spec.source, spec.correlation_id, spec.ttl_seconds) == ("relay", "msg_1", 300)


def test_a_task_wake_carries_the_task_id() -> None:
    params = wake_params(managed(), WakeRequest("task", sender="root", task_id="tsk_1"))
    assert params["reason"] == "task"
    assert params["taskId"] == "tsk_1"
    assert params["messageId"] is None
