"""The task state table (spec/tasks.md) as a table: every move it allows and every one it
refuses, with the spec's words; versions; eligibility and claim-next order."""

from __future__ import annotations

from dataclasses import replace

import pytest

from relay.actors.tasks import rules
from relay.domain.agents import AgentCard
from relay.domain.tasks import TASK_STATUSES, RoutingHints, StatusReport, Task
from relay.errors import Conflict

NOW = 1_000_000
LEASE = 60_000


def task(status: str = "submitted", **fields: object) -> Task:
    base = Task(
        id="tsk_1",
        title="t",
        body="",
        context_id="ctx_1",
        created_by="boss",
        status="submitted",
        attempt=0,
        max_attempts=3,
        version=1,
        created_at=0,
        updated_at=0,
    )
    held = status in ("assigned", "working", "input_required") or status in (
        "completed",
        "failed",
        "rejected",
    )
    lease = NOW + LEASE if status in ("assigned", "working") else None
    return replace(
        base,
        status=status,  # type: ignore[arg-type]
        assignee="a1" if held else None,
        attempt=1 if held else 0,
        lease_expires_at=lease,
        lease_ms=LEASE,
        version=4,
        **fields,  # type: ignore[arg-type]
    )


def report(status: str, **fields: object) -> StatusReport:
    return StatusReport(status=status, **fields)  # type: ignore[arg-type]


REPORTED = ("working", "input_required", "completed", "failed", "rejected", "submitted")
FINAL = ("completed", "failed", "canceled", "rejected")

# (from, reported status) → the status after it; every pair not listed is refused.
ALLOWED = {
    ("assigned", "working"): "working",
    ("assigned", "completed"): "completed",
    ("assigned", "failed"): "failed",
    ("assigned", "rejected"): "rejected",
    ("assigned", "submitted"): "submitted",
    ("working", "input_required"): "input_required",
    ("working", "completed"): "completed",
    ("working", "failed"): "failed",
    ("working", "rejected"): "rejected",
    ("working", "submitted"): "submitted",
    ("input_required", "working"): "working",
    ("input_required", "completed"): "completed",
    ("input_required", "failed"): "failed",
    ("input_required", "rejected"): "rejected",
}


def refusal(start: str, target: str) -> str:
    if start in FINAL:
        return f"task is {start}"
    if start in ("submitted", "needs_human"):
        return "task is not assigned to you"  # nobody holds it
    return f"cannot move task from {start} to {target}"


@pytest.mark.parametrize(
    ("start", "target"),
    [(s, t) for s in TASK_STATUSES for t in REPORTED],
)
def test_reports_by_the_assignee(start: str, target: str) -> None:
    before = task(start)
    if (start, target) in ALLOWED:
        after = rules.transition(before, "report", "a1", NOW, report=report(target))
        assert after.status == ALLOWED[(start, target)]
        assert after.version == before.version + 1
        assert after.updated_at == NOW
    else:
        with pytest.raises(Conflict) as refused:
            rules.transition(before, "report", "a1", NOW, report=report(target))
        assert refused.value.message == refusal(start, target)


@pytest.mark.parametrize("start", ["assigned", "working", "input_required"])
def test_a_report_by_anyone_else_is_not_theirs(start: str) -> None:
    for by in ("a2", None):
        with pytest.raises(Conflict) as refused:
            rules.transition(task(start), "report", by, NOW, report=report("completed"))
        assert refused.value.message == "task is not assigned to you"


def test_the_lease_follows_the_status() -> None:
    working = rules.transition(task("assigned"), "report", "a1", NOW, report=report("working"))
    assert working.lease_expires_at == NOW + LEASE
    asking = rules.transition(working, "report", "a1", NOW, report=report("input_required"))
    assert asking.lease_expires_at is None
    back = rules.transition(asking, "report", "a1", NOW + 5, report=report("working"))
    assert back.lease_expires_at == NOW + 5 + LEASE
    done = rules.transition(back, "report", "a1", NOW, report=report("completed"))
    assert done.lease_expires_at is None
    assert done.assignee == "a1"


def test_a_report_carries_message_result_and_appends_artifacts() -> None:
    first = rules.transition(
        task("assigned", artifacts=({"artifactId": "art_0"},)),
        "report",
        "a1",
        NOW,
        report=report(
            "working",
            message="m",
            result={"a": 1},
            has_result=True,
            artifacts=({"artifactId": "art_1"},),
        ),
    )
    assert first.status_message == "m"
    assert first.result == {"a": 1}
    assert first.artifacts == ({"artifactId": "art_0"}, {"artifactId": "art_1"})
    second = rules.transition(first, "report", "a1", NOW, report=report("input_required"))
    assert (second.status_message, second.result) == ("m", {"a": 1})


@pytest.mark.parametrize("start", TASK_STATUSES)
def test_claim(start: str) -> None:
    before = task(start)
    if start == "submitted":
        after = rules.transition(before, "claim", "a2", NOW, lease_ms=30_000)
        assert (after.status, after.assignee, after.attempt) == ("assigned", "a2", 1)
        assert after.lease_expires_at == NOW + 30_000
        assert after.version == before.version + 1
    else:
        with pytest.raises(Conflict) as refused:
            rules.transition(before, "claim", "a2", NOW, lease_ms=30_000)
        assert refused.value.message == f"task is {start}"


@pytest.mark.parametrize("start", TASK_STATUSES)
def test_cancel(start: str) -> None:
    before = task(start)
    after = rules.transition(before, "cancel", "boss", NOW, reason="why")
    if start in FINAL:
        assert after is before  # final never changes; the caller gets it as it is
    else:
        assert (after.status, after.status_message) == ("canceled", "why")
        assert after.lease_expires_at is None
        assert after.version == before.version + 1


@pytest.mark.parametrize("start", TASK_STATUSES)
def test_requeue(start: str) -> None:
    before = task(start)
    if start == "needs_human":
        after = rules.transition(replace(before, attempt=3), "requeue", "boss", NOW)
        assert (after.status, after.attempt, after.assignee) == ("submitted", 0, None)
        assert after.version == before.version + 1
    else:
        with pytest.raises(Conflict) as refused:
            rules.transition(before, "requeue", "boss", NOW)
        assert refused.value.message == f"task is {start}; cannot requeue"


@pytest.mark.parametrize(
    ("attempt", "expected"), [(1, "submitted"), (2, "submitted"), (3, "needs_human")]
)
@pytest.mark.parametrize("start", ["assigned", "working"])
def test_lease_lost_and_release(start: str, attempt: int, expected: str) -> None:
    before = replace(task(start), attempt=attempt)
    assert not rules.lease_passed(before, NOW + LEASE - 1)
    assert rules.lease_passed(before, NOW + LEASE)
    lost = rules.transition(before, "lease_lost", None, NOW + LEASE)
    released = rules.transition(before, "report", "a1", NOW, report=report("submitted"))
    for after in (lost, released):
        assert (after.status, after.assignee, after.lease_expires_at) == (expected, None, None)
        assert after.attempt == attempt  # kept: the next claim adds one
        assert after.version == before.version + 1


@pytest.mark.parametrize("start", [s for s in TASK_STATUSES if s not in ("assigned", "working")])
def test_no_lease_to_lose(start: str) -> None:
    assert not rules.lease_passed(task(start), NOW * 10)
    with pytest.raises(Conflict):
        rules.transition(task(start), "lease_lost", None, NOW)


def test_version_check() -> None:
    rules.check_version(task("working"), None)
    rules.check_version(task("working"), 4)
    with pytest.raises(Conflict) as refused:
        rules.check_version(task("working"), 3)
    assert refused.value.message == "version conflict: current version is 4"


def test_renewal_keeps_the_version() -> None:
    renewed = rules.renewed(task("working"), "a1", NOW + 10, 120_000)
    assert renewed.lease_expires_at == NOW + 10 + 120_000
    assert renewed.version == 4
    asking = rules.renewed(task("input_required"), "a1", NOW, None)
    assert asking.lease_expires_at is None
    with pytest.raises(Conflict) as refused:
        rules.renewed(task("working"), "a2", NOW, None)
    assert refused.value.message == "task is not assigned to you"
    with pytest.raises(Conflict) as refused:
        rules.renewed(task("completed"), "a1", NOW, None)
    assert refused.value.message == "task is completed"


@pytest.mark.parametrize("start", TASK_STATUSES)
def test_edit(start: str) -> None:
    before = task(start)
    if start in ("submitted", "needs_human"):
        after = rules.edited(
            before, NOW, title="new", body=None, routing_hints=None, max_attempts=None
        )
        assert (after.title, after.version) == ("new", before.version + 1)
        same = rules.edited(
            after, NOW, title="new", body=None, routing_hints=None, max_attempts=None
        )
        assert same is after
    else:
        with pytest.raises(Conflict) as refused:
            rules.edited(before, NOW, title="x", body=None, routing_hints=None, max_attempts=None)
        assert refused.value.message == f"task is {start}; cannot edit"


def test_created() -> None:
    fresh = rules.created(task("working"))
    assert (fresh.status, fresh.attempt, fresh.version, fresh.assignee) == (
        "submitted",
        0,
        1,
        None,
    )


def card(agent_id: str = "a1", **fields: object) -> AgentCard:
    base = AgentCard(
        id=agent_id,
        name=agent_id,
        kind="claude",
        status="online",
        ready=True,
        tags=(),
        orchestrator_id=None,
        provider_capabilities=None,
        meta={},
        registered_at=0,
        last_seen_at=0,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("hints", "agent", "eligible"),
    [
        (RoutingHints(), card(), True),
        (RoutingHints(required_capabilities=("py",)), card(), False),
        (
            RoutingHints(required_capabilities=("py",)),
            card(meta={"capabilities": ["py", "go"]}),
            True,
        ),
        (RoutingHints(labels=("x", "y")), card(meta={"label": "y"}), True),
        (RoutingHints(labels=("x",)), card(meta={"label": "y"}), False),
        (RoutingHints(labels=("x",)), card(), False),
        (RoutingHints(tags=("gpu",)), card(tags=("gpu", "big")), True),
        (RoutingHints(tags=("gpu",)), card(), False),
        (RoutingHints(provider="openai"), card(meta={"provider": "openai"}), True),
        (RoutingHints(provider="openai"), card(meta={"provider": "anthropic"}), False),
        (
            RoutingHints(provider="openai"),
            card(provider_capabilities={"model": {"provider": "openai"}}),
            True,
        ),
        (RoutingHints(provider="openai"), card(), False),
        (RoutingHints(preferred_agent_id="a1"), card(), True),
        (RoutingHints(preferred_agent_id="on"), card(), False),  # "on" is online
        (RoutingHints(preferred_agent_id="off"), card(), True),
    ],
)
def test_eligible(hints: RoutingHints, agent: AgentCard, eligible: bool) -> None:
    assert rules.eligible(hints, agent, frozenset({"on", "a1"})) is eligible


def test_ready() -> None:
    assert rules.is_ready(task(depends_on=("t1", "t2")), {"t1", "t2", "t3"})
    assert not rules.is_ready(task(depends_on=("t1", "t2")), {"t1"})
    assert rules.is_ready(task(), set())


def test_pick_next_prefers_the_claimer_then_oldest_then_id() -> None:
    old = task(created_at=1)
    older_b = replace(task(created_at=0), id="tsk_b")
    older_a = replace(task(created_at=0), id="tsk_a")
    prefers_a1 = RoutingHints(preferred_agent_id="a1")
    preferred = replace(task(created_at=9), id="tsk_p", routing_hints=prefers_a1)
    waiting = replace(task(created_at=-1), id="tsk_w", depends_on=("tsk_x",))
    held = replace(task("assigned", created_at=-2), id="tsk_h")
    pool = [old, older_b, older_a, preferred, waiting, held]
    assert rules.pick_next(pool, card(), frozenset(), set()) == preferred
    assert rules.pick_next(pool, card("a2"), frozenset(), set()) == older_a
    assert rules.pick_next(pool, card("a2"), frozenset(), {"tsk_x"}) == waiting
    assert rules.pick_next([held], card(), frozenset(), set()) is None


def test_notice_text() -> None:
    assert rules.notice_text(task("failed")) == "task tsk_1 is failed"
    assert rules.notice_text(task("failed", status_message="boom")) == "task tsk_1 is failed: boom"
