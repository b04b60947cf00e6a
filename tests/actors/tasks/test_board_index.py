"""The board's indexes give what the rules give over every open task: ``pick`` is
``rules.pick_next``, ``due`` is the tasks ``rules.lease_passed`` holds, through random
histories of claims, reports, releases, renewals, edits and ends."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from relay.actors.tasks import rules
from relay.actors.tasks.board_index import Board
from relay.domain.agents import AgentCard
from relay.domain.tasks import RoutingHints, StatusReport, Task

AGENTS = ("a0", "a1", "a2", "a3")
CAPABILITIES = ("py", "go", "sql")
LEASE = 1_000


def card(agent_id: str) -> AgentCard:
    n = AGENTS.index(agent_id)
    return AgentCard(
        id=agent_id,
        name=agent_id,
        kind="bench",
        status="online",
        ready=True,
        tags=("gpu",) if n % 2 else (),
        orchestrator_id=None,
        provider_capabilities=None,
        meta={"capabilities": list(CAPABILITIES[: n % 3 + 1]), "label": "east" if n < 2 else "w"},
        registered_at=0,
        last_seen_at=0,
    )


def new_task(rng: random.Random, n: int, created_at: int, done: list[str]) -> Task:
    hints = RoutingHints(
        required_capabilities=(rng.choice(CAPABILITIES),) if rng.random() < 0.7 else (),
        labels=("east",) if rng.random() < 0.3 else (),
        tags=("gpu",) if rng.random() < 0.2 else (),
        preferred_agent_id=rng.choice(AGENTS) if rng.random() < 0.3 else None,
    )
    depends = (rng.choice(done),) if done and rng.random() < 0.2 else ()
    return Task(
        id=f"tsk_{rng.randrange(1 << 16):04x}{n:04x}",
        title="t",
        body="",
        context_id="ctx_1",
        created_by="boss",
        status="submitted",
        attempt=0,
        max_attempts=2,
        version=1,
        created_at=created_at,
        updated_at=created_at,
        depends_on=depends,
        routing_hints=hints,
    )


@pytest.mark.parametrize("seed", range(30))
def test_pick_and_due_match_the_rules_through_a_random_history(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - a reproducible history, not a secret
    board = Board()
    now = 0
    made: list[str] = []
    for step in range(400):
        now += rng.choice((0, 1, 50, 300))
        # Expiries first, as the actor applies them before every decision.
        due = board.due(now)
        assert {t.id for t in due} == {
            t.id for t in board.open.values() if rules.lease_passed(t, now)
        }
        for task in due:
            board.keep(rules.transition(task, "lease_lost", None, now))
        assert not any(rules.lease_passed(t, now) for t in board.open.values())
        online = frozenset(rng.sample(AGENTS, rng.randrange(len(AGENTS) + 1)))
        claimer = card(rng.choice(AGENTS))
        expected = rules.pick_next(board.open.values(), claimer, online, board.completed)
        assert board.pick(claimer, online) == expected
        roll = rng.random()
        if roll < 0.3 or not board.open:
            # Equal creation times happen: the id breaks the tie.
            task = new_task(rng, step, now - rng.choice((0, 0, 1)), made)
            made.append(task.id)
            board.keep(rules.created(task))
        elif roll < 0.55 and expected is not None:
            board.keep(rules.transition(expected, "claim", claimer.id, now, lease_ms=LEASE))
        else:
            task = rng.choice(list(board.open.values()))
            board.keep(_act(rng, task, now))


def _act(rng: random.Random, task: Task, now: int) -> Task:
    """One move the table allows for ``task`` (or the task unchanged)."""
    if task.status == "needs_human":
        return rules.transition(task, "requeue", "boss", now)
    if task.status == "submitted":
        if rng.random() < 0.5:
            hints = replace(task.routing_hints, preferred_agent_id=rng.choice((*AGENTS, None)))
            return rules.edited(
                task, now, title=None, body=None, routing_hints=hints, max_attempts=None
            )
        return rules.transition(task, "cancel", "boss", now)
    assert task.assignee is not None
    if rng.random() < 0.3:
        return rules.renewed(task, task.assignee, now, LEASE * rng.choice((1, 2)))
    target = rng.choice(sorted(rules.MOVES[task.status]))
    report = StatusReport(status=target, message=None, result=None, has_result=False)
    return rules.transition(task, "report", task.assignee, now, report=report)


def test_due_skips_entries_a_renewal_made_stale() -> None:
    board = Board()
    task = rules.created(new_task(random.Random(1), 1, 0, []))  # noqa: S311
    board.keep(task)
    held = rules.transition(task, "claim", "a0", 0, lease_ms=LEASE)
    board.keep(held)
    board.keep(rules.renewed(held, "a0", 900, LEASE))
    assert board.due(LEASE) == []
    assert [t.id for t in board.due(900 + LEASE)] == [task.id]
