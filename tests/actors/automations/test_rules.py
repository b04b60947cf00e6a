"""Automation rules: trigger matching, ``{{path}}`` templates, the per-hour cap and the
schedule, each with an explicit ``now``."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors.automations import rules
from relay.domain.automations import Automation

NOW = 1_700_000_000_000

EVENT = {
    "id": "ievt_1",
    "integration": "github",
    "type": "pull_request.opened",
    "subject": "PR 7",
    "payload": {"repo": "relay", "pr": {"number": 7, "labels": ["bug"]}, "draft": False},
}


def automation(**fields: Any) -> Automation:
    base: dict[str, Any] = {
        "id": "au_1",
        "name": "a",
        "enabled": True,
        "trigger": {"type": "event", "eventType": "*"},
        "action": {"type": "post_message", "to": "a1", "body": "x"},
        "max_per_hour": 60,
        "version": 1,
        "next_run_at": None,
        "created_by": "root",
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Automation(**{**base, **fields})


@pytest.mark.parametrize(
    ("pattern", "event_type", "matches"),
    [
        ("pull_request.opened", "pull_request.opened", True),
        ("pull_request.opened", "pull_request.opened2", False),
        ("pull_request.*", "pull_request.closed", True),
        ("pull_request.*", "push", False),
        ("pull_request*", "pull_request", True),
        ("*", "anything", True),
        ("push", "pull_request.opened", False),
    ],
)
def test_event_type_is_exact_or_a_prefix_ending_in_a_star(
    pattern: str, event_type: str, matches: bool
) -> None:
    assert rules.event_type_matches(pattern, event_type) is matches


@pytest.mark.parametrize(
    ("trigger", "matches"),
    [
        ({"type": "event", "eventType": "pull_request.*"}, True),
        ({"type": "event", "eventType": "pull_request.*", "integration": "github"}, True),
        ({"type": "event", "eventType": "pull_request.*", "integration": "ci"}, False),
        ({"type": "event", "eventType": "*", "filter": {"payload.repo": "relay"}}, True),
        ({"type": "event", "eventType": "*", "filter": {"payload.repo": "other"}}, False),
        ({"type": "event", "eventType": "*", "filter": {"payload.pr.number": 7}}, True),
        ({"type": "event", "eventType": "*", "filter": {"payload.pr.number": "7"}}, False),
        ({"type": "event", "eventType": "*", "filter": {"payload.draft": False}}, True),
        ({"type": "event", "eventType": "*", "filter": {"payload.pr.labels.0": "bug"}}, True),
        ({"type": "event", "eventType": "*", "filter": {"payload.missing": None}}, False),
        (
            {"type": "event", "eventType": "*", "filter": {"subject": "PR 7", "payload.repo": "x"}},
            False,
        ),
        ({"type": "schedule", "everySeconds": 60}, False),
    ],
)
def test_a_trigger_needs_its_type_integration_and_every_filter(
    trigger: dict[str, Any], matches: bool
) -> None:
    assert rules.triggered_by(trigger, EVENT) is matches


def test_triggered_are_the_enabled_matches_by_name() -> None:
    found = rules.triggered(
        [
            automation(id="au_c", name="c"),
            automation(id="au_a", name="a"),
            automation(id="au_off", name="b", enabled=False),
            automation(id="au_x", name="d", trigger={"type": "event", "eventType": "push"}),
        ],
        EVENT,
    )
    assert [a.id for a in found] == ["au_a", "au_c"]


CONTEXT = {"event": EVENT, "automation": {"id": "au_1", "name": "triage"}, "now": NOW}


@pytest.mark.parametrize(
    ("template", "rendered"),
    [
        ("PR {{event.payload.pr.number}} in {{event.payload.repo}}", "PR 7 in relay"),
        ("{{ event.subject }}", "PR 7"),
        ("{{event.payload.pr}}", '{"number":7,"labels":["bug"]}'),
        ("{{event.payload.draft}}", "false"),
        ("[{{event.payload.nothing}}]", "[]"),
        ("{{automation.name}} at {{now}}", f"triage at {NOW}"),
        ("no placeholders", "no placeholders"),
    ],
)
def test_templates_render_strings_raw_else_compact_json_missing_empty(
    template: str, rendered: str
) -> None:
    assert rules.render(template, CONTEXT) == rendered


def test_templates_render_nested_strings_and_leave_other_values() -> None:
    action = {
        "type": "create_task",
        "task": {"title": "{{event.subject}}", "maxAttempts": 2, "dependsOn": ["{{event.id}}"]},
    }
    assert rules.render(action, CONTEXT) == {
        "type": "create_task",
        "task": {"title": "PR 7", "maxAttempts": 2, "dependsOn": ["ievt_1"]},
    }


HOUR = rules.HOUR_MS


@pytest.mark.parametrize(
    ("runs", "max_per_hour", "allowed"),
    [
        ([], 1, True),
        ([NOW - 1], 1, False),
        ([NOW - HOUR], 1, True),  # exactly an hour ago: out of the window
        ([NOW - HOUR + 1], 1, False),
        ([NOW - 10, NOW - 20], 3, True),
        ([NOW - 10, NOW - 20, NOW - 30], 3, False),
        ([NOW - 2 * HOUR, NOW - HOUR - 5, NOW - 5], 2, True),
    ],
)
def test_the_cap_counts_runs_of_the_last_sixty_minutes(
    runs: list[int], max_per_hour: int, allowed: bool
) -> None:
    assert rules.may_run(runs, max_per_hour, NOW) is allowed


def test_a_schedule_first_runs_one_period_after_it_is_saved() -> None:
    assert rules.first_run_at({"type": "schedule", "everySeconds": 60}, NOW) == NOW + 60_000
    assert rules.first_run_at({"type": "event", "eventType": "*"}, NOW) is None


@pytest.mark.parametrize(
    ("fields", "due"),
    [
        ({"next_run_at": NOW}, True),
        ({"next_run_at": NOW - 10 * 60_000}, True),
        ({"next_run_at": NOW + 1}, False),
        ({"next_run_at": NOW, "enabled": False}, False),
        ({"next_run_at": None}, False),
    ],
)
def test_a_schedule_is_due_at_its_next_run(fields: dict[str, Any], due: bool) -> None:
    schedule = automation(trigger={"type": "schedule", "everySeconds": 60}, **fields)
    assert rules.is_due(schedule, NOW) is due


def test_missed_runs_are_not_caught_up() -> None:
    late = automation(
        trigger={"type": "schedule", "everySeconds": 60}, next_run_at=NOW - 10 * 60_000
    )
    assert rules.next_run_after(late, NOW) == NOW + 60_000
