"""Which actions an agent can take now: the action route's own refusals, explained."""

from __future__ import annotations

from relay.actors.agent.support import RESUME_NOT_POSSIBLE, Availability, availability
from relay.domain.agents import TimelineEntry
from tests.actors.agent.test_action_rules import CLAUDE, NOW, RID, card, orchestrator

RESUMABLE = TimelineEntry(
    id=1,
    agent_id="a1",
    kind="note",
    title="t",
    body=None,
    metadata={"provider": "claude", "claudeResumeId": RID},
    created_at=NOW,
)


def reasons(entries: list[Availability]) -> dict[str, str | None]:
    return {entry.action: entry.reason for entry in entries}


def test_a_plain_agent_supports_nothing_and_says_why() -> None:
    found = availability(card(), [], [])
    assert [entry.available for entry in found] == [False] * 6
    assert reasons(found) == {
        "restart": "agent does not support restart",
        "shutdown": "agent does not support shutdown",
        "reconnect": "agent does not support reconnect",
        "compact": "agent does not support compact",
        "clearContext": "agent does not support clearContext",
        "resume": RESUME_NOT_POSSIBLE,
    }


def test_a_resumable_session_lists_restart_shutdown_and_resume() -> None:
    agent = card(meta=CLAUDE, status="offline", orchestrator_id="o1")
    found = availability(agent, [orchestrator("o1")], [RESUMABLE])
    assert {entry.action for entry in found if entry.available} == {
        "restart",
        "shutdown",
        "resume",
    }


def test_resume_reasons_follow_the_routes_order() -> None:
    agent = card(meta=CLAUDE, status="offline", orchestrator_id="o1")
    no_owner = reasons(availability(agent, [], []))
    assert no_owner["resume"] == "no online orchestrator available to resume agent"
    no_id = reasons(availability(agent, [orchestrator("o1")], []))
    assert no_id["resume"] == "no Claude resume id recorded for agent"
