"""Unit rows of ``MessageEvents``: which message and delivery events a caller is streamed,
judged as ``acts_for`` judges reading their records."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors.messaging.events import MessageEvents
from relay.actors.runtime.directory import AgentDirectory, AgentFacts
from relay.auth.access import Principal
from relay.domain.messages import direct_conversation_id
from relay.store.stream import StreamEvent


def _directory() -> AgentDirectory:
    directory = AgentDirectory()
    directory.record("a1", AgentFacts("o1", runner_managed=False, cwd="/srv/o1/a1"))
    return directory


def _event(kind: str, agent_id: str | None, sender: str = "a1") -> StreamEvent:
    data: dict[str, Any] = {"change": "created", kind: {"id": "x", "from": sender}}
    return StreamEvent(1, kind, data, "messages", agent_id, 0)


def _caller(sub: str, role: str, **constraints: list[str]) -> Principal:
    return Principal(sub=sub, role=role, scope=frozenset(), constraints=dict(constraints))


@pytest.mark.parametrize(
    ("caller", "event", "admitted"),
    [
        # Covering an agent is not acting for it: an integration limited to o1.
        (_caller("ci", "integration", orchestrators=["o1"]), _event("delivery", "a1"), False),
        (_caller("ci", "integration", orchestrators=["o1"]), _event("message", "a1"), False),
        # The host's own token and a dashboard limited to the host act for its agents.
        (_caller("o1", "orchestrator", orchestrators=["o1"]), _event("delivery", "a1"), True),
        (_caller("ops", "dashboard", orchestrators=["o1"]), _event("message", "a1"), True),
        (_caller("ops", "dashboard", orchestrators=["o2"]), _event("message", "a1"), False),
        # An agent memory does not hold is acted for by none.
        (_caller("ops", "dashboard", orchestrators=["o1"]), _event("delivery", "gone"), False),
        # A sender that is no agent: the event names none; its own sub reads it.
        (_caller("ci", "integration"), _event("message", None, sender="ci"), True),
        (_caller("ci", "integration"), _event("message", None, sender="root"), False),
        (_caller("root", "provider", agents=["root"]), _event("message", None, "root"), False),
        # Other events are not this guard's.
        (_caller("ci", "integration"), StreamEvent(1, "task", {}, "tasks", "a1", 0), True),
    ],
)
def test_who_is_streamed_a_message_or_delivery(
    caller: Principal, event: StreamEvent, admitted: bool
) -> None:
    guard = MessageEvents.of(caller, None, _directory())
    assert guard is not None
    assert guard.admits(event) is admitted


def test_root_and_unconstrained_operators_are_not_guarded() -> None:
    assert MessageEvents.of(Principal.root(), None, _directory()) is None
    assert MessageEvents.of(_caller("ops", "dashboard"), None, _directory()) is None


def test_a_sender_that_is_no_agent_has_its_own_direct_conversations() -> None:
    assert direct_conversation_id("a1", "a2") == direct_conversation_id("a2", "a1")
    as_agent = direct_conversation_id("root", "v")
    assert direct_conversation_id("root", "v", a_is_agent=False) != as_agent
