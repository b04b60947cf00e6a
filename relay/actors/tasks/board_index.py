"""Indexes over the board's open tasks, so a claim and a lease check do not read them all.

``rules.pick_next`` and ``rules.lease_passed`` say what a claim picks and which leases
passed; with 10,000 open tasks, running them over every task took ~40 ms per claim and
~3 ms per decision (bench/tasks.py), one at a time in the board's thread. Here:

- the ``submitted`` tasks in claim order (oldest, then id), and those preferring each
  agent: claim-next walks the order and stops at the first task the claimer may take;
- a heap of lease expiries: a decision looks only at leases due by now.

Both follow every change through ``update(before, after)``; entries a later change made
stale are skipped (and dropped) when read. ``pick`` gives what ``rules.pick_next`` gives
over the same tasks (tests/actors/tasks/test_board_index.py compares them).
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable, Mapping

from relay.actors.tasks import rules
from relay.domain.agents import AgentCard
from relay.domain.tasks import Task

OrderKey = tuple[int, str]  # created_at, id


def _order(task: Task) -> OrderKey:
    return (task.created_at, task.id)


class BoardIndex:
    def __init__(self) -> None:
        self.submitted: list[OrderKey] = []  # sorted
        self.preferring: dict[str, set[str]] = {}  # agent id -> submitted task ids
        self.leases: list[tuple[int, str]] = []  # heap of (lease_expires_at, task id)

    def update(self, before: Task | None, after: Task | None) -> None:
        """``before`` (None: new) became ``after`` (None: left the board)."""
        if before is not None and before.status == "submitted":
            key = _order(before)
            at = bisect.bisect_left(self.submitted, key)
            if at < len(self.submitted) and self.submitted[at] == key:
                del self.submitted[at]
            preferred = before.routing_hints.preferred_agent_id
            if preferred is not None:
                ids = self.preferring.get(preferred)
                if ids is not None:
                    ids.discard(before.id)
                    if not ids:
                        del self.preferring[preferred]
        if after is None:
            return
        if after.status == "submitted":
            bisect.insort(self.submitted, _order(after))
            preferred = after.routing_hints.preferred_agent_id
            if preferred is not None:
                self.preferring.setdefault(preferred, set()).add(after.id)
        lease = after.lease_expires_at
        # A lease unchanged has its entry already (duplicates would only be skipped).
        changed = before is None or before.lease_expires_at != lease
        if after.status in rules.LEASED and lease is not None and changed:
            heapq.heappush(self.leases, (lease, after.id))

    def due(self, open_tasks: Mapping[str, Task], now: int) -> list[Task]:
        """The open tasks whose lease passed by ``now``, soonest first (each once)."""
        found: dict[str, Task] = {}
        while self.leases and self.leases[0][0] <= now:
            _, task_id = heapq.heappop(self.leases)
            task = open_tasks.get(task_id)
            if task is not None and rules.lease_passed(task, now):
                found[task_id] = task
        return list(found.values())

    def pick(
        self,
        open_tasks: Mapping[str, Task],
        card: AgentCard,
        online: frozenset[str],
        completed: set[str],
    ) -> Task | None:
        """``rules.pick_next`` over ``open_tasks``: those preferring the claimer first,
        then the oldest (then lowest id) the claimer may take."""

        def takes(task: Task) -> bool:
            return rules.is_ready(task, completed) and rules.eligible(
                task.routing_hints, card, online
            )

        mine = self.preferring.get(card.id)
        if mine:
            candidates = [open_tasks[i] for i in mine if takes(open_tasks[i])]
            if candidates:
                return min(candidates, key=_order)
        for _, task_id in self.submitted:
            task = open_tasks[task_id]
            if task.routing_hints.preferred_agent_id == card.id:
                continue  # judged above
            if takes(task):
                return task
        return None


class Board:
    """The board's memory: every open task, the ids of completed ones (for ``ready``), and
    the index over the open ones, kept in step by ``keep``."""

    def __init__(self, open_tasks: Iterable[Task] = (), completed: Iterable[str] = ()) -> None:
        self.open: dict[str, Task] = {}
        self.completed: set[str] = set(completed)
        self.index = BoardIndex()
        for task in open_tasks:
            self.keep(task)

    def keep(self, task: Task) -> None:
        """Memory follows the task: final ones leave the board, completed ones are
        remembered as done."""
        before = self.open.get(task.id)
        if task.final:
            self.open.pop(task.id, None)
            self.index.update(before, None)
            if task.status == "completed":
                self.completed.add(task.id)
        else:
            self.open[task.id] = task
            self.index.update(before, task)

    def due(self, now: int) -> list[Task]:
        """The open tasks whose lease passed by ``now`` (``BoardIndex.due``)."""
        return self.index.due(self.open, now)

    def preferred(self) -> Iterable[str]:
        """The agents some submitted task prefers."""
        return self.index.preferring.keys()

    def pick(self, card: AgentCard, online: frozenset[str]) -> Task | None:
        """What a claim by ``card`` picks (``BoardIndex.pick``)."""
        return self.index.pick(self.open, card, online, self.completed)
