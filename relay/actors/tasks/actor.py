"""TaskBoardActor: the only writer of tasks. It holds every open task in memory, so a
claim picks and marks a task in one step (promise 1) and due lease expiries are applied
before every decision (promise 4)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from relay.actors.runtime.aggregate import AggregateActor
from relay.actors.runtime.audit import Change, write_with_audit
from relay.actors.runtime.bridge import Durable
from relay.actors.runtime.dispatch import dispatchmethod
from relay.actors.tasks import rules
from relay.actors.tasks.board_index import Board
from relay.actors.tasks.messages import (
    KIND,
    ApplyDue,
    Cancel,
    Claim,
    Create,
    Decided,
    Edit,
    Notice,
    Renew,
    Report,
    Requeue,
)
from relay.domain.activity import ActivityInput
from relay.domain.tasks import Task
from relay.errors import Conflict, NotFound, RelayError
from relay.store import agents as agent_store
from relay.store import artifacts as artifact_store
from relay.store import tasks as task_store

AUDIT_VIEW = "tasks"


class TaskBoardActor(AggregateActor):
    kind = KIND

    def __init__(self, key: str, runtime: Any) -> None:
        super().__init__(key, runtime)
        self.board = Board()
        # Notices of expiries applied before a refused decision: the next reply carries
        # them (the lease-expiry job's, at the latest).
        self.untold: list[Notice] = []

    def load(self) -> None:
        self.board = Board(
            self.read_through_queue(task_store.open_tasks),
            self.read_through_queue(task_store.completed_ids),
        )

    def _now(self) -> int:
        return self.rt.clock.now_ms()

    def _ready(self, task: Task) -> bool:
        return rules.is_ready(task, self.board.completed)

    def _change(self, name: str, task: Task) -> Change:
        return Change(
            "task",
            {"change": name, "task": task.to_json(self._ready(task))},
            view=AUDIT_VIEW,
            agent_id=task.assignee,
        )

    def _find(self, task_id: str) -> Task:
        found = self.board.open.get(task_id)
        if found is not None:
            return found
        stored = self.read_through_queue(lambda: task_store.load(task_id))
        if stored is None:
            raise NotFound("task not found")
        return stored

    @staticmethod
    def _needs_human(task: Task) -> ActivityInput:
        return ActivityInput(
            kind="task",
            title="Task needs a human",
            body=f"{task.title} after {task.attempt} attempts",
            view=AUDIT_VIEW,
            agent_id=None,
            metadata={"taskId": task.id},
        )

    def _entered(
        self, before: Task, after: Task, cause: str | None, audits: list[ActivityInput]
    ) -> tuple[Notice, ...]:
        if after.status == before.status:
            return ()
        if after.status == "needs_human":
            audits.append(self._needs_human(after))
        return (Notice(after, cause),) if after.status in rules.NOTIFIED else ()

    def _apply_due(self, now: int) -> tuple[list[Task], list[ActivityInput], list[Notice]]:
        changed: list[Task] = []
        audits: list[ActivityInput] = []
        notices: list[Notice] = []
        for task in self.board.due(now):
            after = rules.transition(task, "lease_lost", None, now)
            self.board.keep(after)
            changed.append(after)
            notices.extend(self._entered(task, after, None, audits))
        return changed, audits, notices

    def _write(
        self,
        updated: Sequence[Task],
        audits: Sequence[ActivityInput] = (),
        inserted: Task | None = None,
    ) -> Any:
        rows = list(updated)
        if not rows and inserted is None:
            return None
        changes = [self._change("updated", t) for t in rows]
        if inserted is not None:
            changes.insert(0, self._change("created", inserted))

        async def job() -> None:
            if inserted is not None:
                await task_store.insert(inserted)
            await task_store.update(rows)
            for task in rows:
                # Its assignee may then read the secret ones (artifacts.HOLDER_SOURCES).
                ids = [str(a["artifactId"]) for a in task.artifacts]
                await artifact_store.link(ids, artifact_store.TASK, task.id)

        return write_with_audit(self.rt, self.write, job, audits=audits, changes=changes)

    def _reply(self, value: Any, commit: Any, notices: Sequence[Notice], ready: bool = True) -> Any:
        decided = Decided(value, ready, (*self.untold, *notices))
        self.untold = []
        return Durable(decided, commit) if commit is not None else self.durable(decided)

    def _decide(self, task_id: str, cause: str | None, decide: Any) -> Any:
        """Apply due expiries, then ``decide(task) -> Task`` on the (fresh) task; an
        unchanged result writes nothing. Expiries are written even when ``decide`` refuses."""
        now = self._now()
        changed, audits, notices = self._apply_due(now)
        expiry_commit = self._write(changed, audits)
        try:
            before = self._find(task_id)
            after = decide(before, now)
        except (Conflict, NotFound):
            self.untold.extend(notices)
            raise
        if after is before:
            commit = expiry_commit
        else:
            self.board.keep(after)
            more: list[ActivityInput] = []
            notices.extend(self._entered(before, after, cause, more))
            commit = self._write([after], more)
        return self._reply(after, commit, notices, self._ready(after))

    @dispatchmethod
    def handle(self, message: Any) -> Any:
        raise TypeError(f"TaskBoardActor cannot handle {message!r}")

    @handle.register
    def _create(self, message: Create) -> Any:
        task = rules.created(message.task)
        changed, audits, notices = self._apply_due(self._now())
        self.board.keep(task)
        commit = self._write(changed, audits, inserted=task)
        return self._reply(task, commit, notices, self._ready(task))

    @handle.register
    def _claim(self, message: Claim) -> Any:
        now = self._now()
        changed, audits, notices = self._apply_due(now)
        try:
            picked = self._pick(message)
        except RelayError:
            self._write(changed, audits)
            self.untold.extend(notices)
            raise
        if picked is None:
            commit = self._write(changed, audits)
            return self._reply(None, commit, notices)
        card = message.agent
        after = rules.transition(picked, "claim", card.id, now, lease_ms=message.lease_ms)
        self.board.keep(after)
        commit = self._write([*changed, after], audits)
        return self._reply(after, commit, notices, True)

    def _pick(self, message: Claim) -> Task | None:
        """The task ``message`` claims (None: nothing next), judged on the board as it is
        once due expiries are applied."""
        card = message.agent
        if message.task_id is None:
            return self.board.pick(card, self._online(message, self.board.preferred()))
        picked = self._find(message.task_id)
        if picked.status != "submitted":
            raise Conflict(f"task is {picked.status}")
        if not self._ready(picked):
            raise Conflict(rules.WAITING)
        online = self._online(message, (picked.routing_hints.preferred_agent_id,))
        if not rules.eligible(picked.routing_hints, card, online):
            raise Conflict(rules.NO_MATCH)
        return picked

    def _online(self, message: Claim, preferred: Iterable[str | None]) -> frozenset[str]:
        """The online agents among ``preferred``. The claim brings those its route read;
        a task released since (its lease passed before the expiry job ran, here or in
        between) may prefer one it did not judge: that one is read now, so the decision
        never depends on when the job last ran."""
        presence = message.presence
        unknown = tuple(
            sorted(
                {
                    agent_id
                    for agent_id in preferred
                    if agent_id is not None
                    and agent_id != message.agent.id
                    and agent_id not in presence.judged
                }
            )
        )
        if not unknown:
            return presence.online
        return presence.online | self.read_through_queue(lambda: agent_store.online_among(unknown))

    @handle.register
    def _report(self, message: Report) -> Any:
        def decide(task: Task, now: int) -> Task:
            rules.check_reporter(task, message.by)
            rules.check_version(task, message.version)
            return rules.transition(task, "report", message.by, now, report=message.report)

        return self._decide(message.task_id, message.by, decide)

    @handle.register
    def _renew(self, message: Renew) -> Any:
        return self._decide(
            message.task_id,
            message.by,
            lambda task, now: rules.renewed(task, message.by, now, message.lease_ms),
        )

    @handle.register
    def _edit(self, message: Edit) -> Any:
        def decide(task: Task, now: int) -> Task:
            edit = message.edit
            if task.status not in ("submitted", "needs_human"):
                raise Conflict(f"task is {task.status}; cannot edit")
            rules.check_version(task, message.version)
            return rules.edited(
                task,
                now,
                title=edit.title,
                body=edit.body,
                routing_hints=edit.routing_hints,
                max_attempts=edit.max_attempts,
            )

        return self._decide(message.task_id, None, decide)

    @handle.register
    def _cancel(self, message: Cancel) -> Any:
        return self._decide(
            message.task_id,
            message.by,
            lambda task, now: rules.transition(
                task, "cancel", message.by, now, reason=message.reason
            ),
        )

    @handle.register
    def _requeue(self, message: Requeue) -> Any:
        return self._decide(
            message.task_id,
            message.by,
            lambda task, now: rules.transition(task, "requeue", message.by, now),
        )

    @handle.register
    def _apply(self, _message: ApplyDue) -> Any:
        changed, audits, notices = self._apply_due(self._now())
        counts = {
            "requeued": sum(1 for t in changed if t.status == "submitted"),
            "needsHuman": sum(1 for t in changed if t.status == "needs_human"),
        }
        commit = self._write(changed, audits)
        return self._reply(counts, commit, notices)
