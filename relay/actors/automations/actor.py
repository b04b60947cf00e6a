"""AutomationActor: the only writer of automations and their dispatch results. One actor
holds them all, so a name is unique and a per-hour cap is counted at the moment a run is
granted, by whoever asks."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from relay.actors.automations import rules
from relay.actors.automations.messages import (
    KIND,
    Begin,
    Create,
    Delete,
    Disabled,
    Record,
    Snapshot,
    Started,
    TakeDue,
    Unbegin,
    Untake,
    Update,
)
from relay.actors.runtime.aggregate import AggregateActor
from relay.actors.runtime.audit import Change, write_with_audit
from relay.actors.runtime.bridge import Durable
from relay.actors.runtime.dispatch import dispatchmethod
from relay.domain.activity import ActivityInput
from relay.domain.automations import Automation, DispatchResult
from relay.errors import Conflict, NotFound
from relay.store import automations as automation_store

EVENT_RUNS_KEPT = 10_000
CHANGED = "automation changed since it was checked; try again"
CONFIG_VIEW = "config"
DISPATCH_VIEW = "automations"


def _saved_audit(title: str, actor: str, automation: Automation) -> ActivityInput:
    return ActivityInput(
        kind="config",
        title=title,
        body=automation.name,
        meta=automation.id,
        icon="ti-robot",
        view=CONFIG_VIEW,
        orchestrator_id=_spawns_on(automation),
        metadata={"automationId": automation.id, "by": actor},
    )


def _spawns_on(automation: Automation | None) -> str | None:
    """The host a spawning automation spawns on: its rows are that host's, so a caller
    limited to other hosts, who may not read the automation, is not shown them either."""
    spawn = _spawn_target(automation)
    return None if spawn is None else spawn["orchestratorId"]


def _spawn_target(automation: Automation | None) -> dict[str, str | None] | None:
    """Where a spawning automation spawns, as its action names it (a cwd its policy gives is
    not known here), for the stream to judge its dispatches by; None for other actions."""
    if automation is None or automation.action.get("type") != "spawn_agent":
        return None
    action = automation.action
    return {
        key: value if isinstance(value := action.get(key), str) else None
        for key in ("orchestratorId", "policyName", "cwd")
    }


def _failed_audit(automation: Automation | None, result: DispatchResult) -> ActivityInput:
    return ActivityInput(
        kind="automation",
        title="Automation dispatch failed",
        body=f"{automation.name if automation else result.automation_id}: {result.error}",
        meta=result.id,
        icon="ti-robot",
        view=DISPATCH_VIEW,
        orchestrator_id=_spawns_on(automation),
        metadata={"automationId": result.automation_id, "dispatch": result.to_json()},
    )


class AutomationActor(AggregateActor):
    kind = KIND

    def __init__(self, key: str, runtime: Any) -> None:
        super().__init__(key, runtime)
        self.automations: dict[str, Automation] = {}
        self.run_times: dict[str, list[int]] = {}  # runs the per-hour cap counts
        # (event, automation) pairs begun in this process, oldest first: a replayed delivery
        # whose dispatches were never recorded is dispatched again, but never twice at once.
        self.event_runs: dict[tuple[str, str], None] = {}
        self.seq = 0  # of the last dispatch result recorded

    def load(self) -> None:
        since = self._now() - rules.HOUR_MS
        self.automations = {a.id: a for a in self.read_through_queue(automation_store.load_all)}
        self.run_times = self.read_through_queue(lambda: automation_store.run_times_since(since))
        self.seq = self.read_through_queue(automation_store.last_seq)

    def _now(self) -> int:
        return self.rt.clock.now_ms()

    def _find(self, automation_id: str) -> Automation:
        found = self.automations.get(automation_id)
        if found is None:
            raise NotFound("automation not found")
        return found

    def _check_name(self, name: str, automation_id: str) -> None:
        if any(a.name == name and a.id != automation_id for a in self.automations.values()):
            raise Conflict("automation name already exists")

    @dispatchmethod
    def handle(self, message: Any) -> Any:
        raise TypeError(f"AutomationActor cannot handle {message!r}")

    @handle.register
    def _create(self, message: Create) -> Durable[Automation]:
        self._check_name(message.automation.name, message.automation.id)
        now = self._now()
        automation = replace(
            message.automation,
            version=1,
            created_at=now,
            updated_at=now,
            next_run_at=rules.first_run_at(message.automation.trigger, now),
        )
        self.automations[automation.id] = automation
        commit = write_with_audit(
            self.rt,
            self.write,
            lambda: automation_store.insert(automation),
            audits=[_saved_audit("Automation saved", message.actor, automation)],
        )
        return Durable(automation, commit)

    @handle.register
    def _update(self, message: Update) -> Durable[Automation]:
        current = self._find(message.automation_id)
        if message.version is not None and message.version != current.version:
            raise Conflict(f"version conflict: current version is {current.version}")
        changes = message.changes
        if changes.name is not None:
            self._check_name(changes.name, current.id)
        now = self._now()
        trigger = changes.trigger if changes.trigger is not None else current.trigger
        next_run_at = current.next_run_at
        if changes.trigger is not None and changes.trigger != current.trigger:
            next_run_at = rules.first_run_at(trigger, now)
        automation = replace(
            current,
            name=changes.name if changes.name is not None else current.name,
            enabled=changes.enabled if changes.enabled is not None else current.enabled,
            trigger=trigger,
            action=changes.action if changes.action is not None else current.action,
            max_per_hour=(
                changes.max_per_hour if changes.max_per_hour is not None else current.max_per_hour
            ),
            next_run_at=next_run_at,
            version=current.version + 1,
            updated_at=now,
        )
        self.automations[automation.id] = automation
        commit = write_with_audit(
            self.rt,
            self.write,
            lambda: automation_store.save(automation),
            audits=[_saved_audit("Automation saved", message.actor, automation)],
        )
        return Durable(automation, commit)

    @handle.register
    def _delete(self, message: Delete) -> Durable[Automation]:
        automation = self._find(message.automation_id)
        if message.version is not None and message.version != automation.version:
            raise Conflict(CHANGED)
        del self.automations[automation.id]
        self.run_times.pop(automation.id, None)
        commit = write_with_audit(
            self.rt,
            self.write,
            lambda: automation_store.delete(automation.id),
            audits=[_saved_audit("Automation deleted", message.actor, automation)],
        )
        return Durable(automation, commit)

    @handle.register
    def _snapshot(
        self, _message: Snapshot
    ) -> tuple[Automation, ...] | Durable[tuple[Automation, ...]]:
        found = tuple(sorted(self.automations.values(), key=lambda a: a.name))
        return self.durable(found)

    @handle.register
    def _begin(self, message: Begin) -> Started:
        automation = self._find(message.automation_id)
        if not automation.enabled and message.trigger != "manual":
            raise Disabled()
        if message.version is not None and message.version != automation.version:
            raise Conflict(CHANGED)
        if message.event_id is not None:
            key = (message.event_id, automation.id)
            if key in self.event_runs:
                return Started(automation, False, repeated=True)
            self.event_runs[key] = None
            if len(self.event_runs) > EVENT_RUNS_KEPT:
                del self.event_runs[next(iter(self.event_runs))]
        now = self._now()
        runs = rules.within_hour(self.run_times.get(automation.id, ()), now)
        allowed = rules.may_run(runs, automation.max_per_hour, now)
        if allowed:
            runs.append(now)
        self.run_times[automation.id] = runs
        return Started(automation, allowed)

    @handle.register
    def _unbegin(self, message: Unbegin) -> None:
        self.event_runs.pop((message.event_id, message.automation_id), None)

    @handle.register
    def _record(self, message: Record) -> DispatchResult | Durable[DispatchResult]:
        result = message.result
        if result.automation_id not in self.automations:
            return self.durable(result)  # deleted while it ran: nothing to keep it under
        self.seq += 1
        seq, keep = self.seq, self.rt.settings.automation_dispatch_keep
        audits = []
        if result.status == "failed":
            audits.append(_failed_audit(self.automations.get(result.automation_id), result))
        data: dict[str, Any] = {"change": "dispatched", "dispatch": result.to_json()}
        spawn = _spawn_target(self.automations.get(result.automation_id))
        if spawn is not None:
            data["spawn"] = spawn  # what a constrained stream judges it by (event_guard)
        change = Change("automation", data, view=DISPATCH_VIEW)
        commit = write_with_audit(
            self.rt,
            self.write,
            lambda: automation_store.insert_dispatch(result, seq, keep),
            audits=audits,
            changes=[change],
        )
        return Durable(result, commit)

    @handle.register
    def _take_due(
        self, _message: TakeDue
    ) -> tuple[Automation, ...] | Durable[tuple[Automation, ...]]:
        now = self._now()
        due = [a for a in self.automations.values() if rules.is_due(a, now)]
        if not due:
            return ()
        moved = {a.id: rules.next_run_after(a, now) for a in due}
        for automation in due:
            self.automations[automation.id] = replace(automation, next_run_at=moved[automation.id])
        commit = self.write(lambda: automation_store.save_next_runs(moved))
        return Durable(tuple(sorted(due, key=lambda a: a.name)), commit)

    @handle.register
    def _untake(self, message: Untake) -> Durable[None] | None:
        current = self.automations.get(message.automation_id)
        if (
            current is None
            or not current.enabled
            or current.version != message.version
            or current.next_run_at is None
            or current.next_run_at <= message.due_at
        ):
            return None
        self.automations[current.id] = replace(current, next_run_at=message.due_at)
        due = {current.id: message.due_at}
        return Durable(None, self.write(lambda: automation_store.save_next_runs(due)))
