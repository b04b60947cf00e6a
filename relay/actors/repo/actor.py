"""RepoActor: one per repository root — its merge lease and its workspaces.

The lease and the statuses of the repo's workspaces change together (a merge takes the
lease and plans the workspace; its settle moves the workspace and releases the lease), so
one actor owns both: every merge request for a repo is decided here, one at a time. The
database's primary key on the lease's repo is the backstop across relay processes.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from relay.actors.repo import audit, rules
from relay.actors.repo.messages import (
    KIND,
    AbortCleanup,
    AbortMerge,
    Acquire,
    BeginCleanup,
    CommandSettled,
    CreateWorkspace,
    DeleteWorkspace,
    ExpireLease,
    Expiry,
    ForceRelease,
    PlanMerge,
    Release,
    SetStatus,
    SettleOutcome,
)
from relay.actors.runtime.aggregate import AggregateActor
from relay.actors.runtime.audit import Change, write_with_audit
from relay.actors.runtime.bridge import Durable
from relay.actors.runtime.dispatch import dispatchmethod
from relay.actors.workspace_ids import flows as workspace_ids
from relay.domain.activity import ActivityInput
from relay.domain.commands import Command
from relay.domain.workspaces import MergeLease, Workspace
from relay.errors import Conflict, NotFound, Unavailable
from relay.store import workspaces as workspace_store


class RepoActor(AggregateActor):
    kind = KIND

    lease: MergeLease | None = None
    workspaces: dict[str, Workspace]

    def load(self) -> None:
        self.lease = self.read_through_queue(lambda: workspace_store.load_lease(self.key))
        self.workspaces = {
            ws.id: ws for ws in self.read_through_queue(lambda: workspace_store.for_repo(self.key))
        }

    def is_empty(self) -> bool:
        return self.lease is None and not self.workspaces

    def _now(self) -> int:
        return self.rt.clock.now_ms()

    def _orchestrator_of(self, workspace_id: str) -> str | None:
        """The orchestrator a row about this workspace concerns (its lease's rows)."""
        ws = self.workspaces.get(workspace_id)
        return ws.orchestrator_id if ws is not None else None

    def _workspace(self, workspace_id: str) -> Workspace:
        ws = self.workspaces.get(workspace_id)
        if ws is None:
            raise NotFound("workspace not found")
        return ws

    # -- one commit per change ---------------------------------------------------------------
    #
    # A message's state change, its stream events and its audit rows are one write job: the
    # helpers below update memory and return what to write; ``_commit`` queues it all.

    def _updated(self, ws: Workspace) -> _Part:
        self.workspaces[ws.id] = ws
        change = Change(
            "workspace", {"change": "updated", "workspace": ws.to_json()}, agent_id=ws.agent_id
        )
        return _Part(lambda: workspace_store.update(ws), change)

    def _lease_change(self, change: str, lease: MergeLease) -> Change:
        """A lease event, with the workspace it is held for as this actor holds it: the
        stream's guard judges a lease by that workspace's agent, orchestrator and paths,
        as the lease list does (``relay.http.lease_auth``), and reads no store per event."""
        data: dict[str, Any] = {"change": change, "lease": lease.to_json()}
        ws = self.workspaces.get(lease.workspace_id)
        if ws is not None:
            data["workspace"] = ws.to_json()
        return Change("lease", data)

    def _released(self) -> tuple[MergeLease, _Part] | None:
        lease = self.lease
        if lease is None:
            return None
        self.lease = None
        change = self._lease_change("released", lease)
        return lease, _Part(
            lambda: workspace_store.delete_lease(lease.repo_root, lease.workspace_id), change
        )

    def _dropped(self, ws: Workspace) -> _Part:
        self.workspaces.pop(ws.id, None)
        change = Change(
            "workspace", {"change": "deleted", "workspace": ws.to_json()}, agent_id=ws.agent_id
        )
        # The id is free for any repository again; the index is told once the delete is
        # queued, so a create that then reads the store reads behind it and finds no row.
        return _Part(
            lambda: workspace_store.delete(ws.id),
            change,
            then=lambda: workspace_ids.forget(self.rt, ws.id, self.key),
        )

    def _commit(
        self, parts: Sequence[_Part], audits: Sequence[ActivityInput | None] = ()
    ) -> concurrent.futures.Future[Any]:
        jobs = [part.job for part in parts]

        async def together() -> None:
            for job in jobs:
                await job()

        written = write_with_audit(
            self.rt,
            self.write,
            together,
            audits=[event for event in audits if event is not None],
            changes=[part.change for part in parts],
        )
        for part in parts:
            if part.then is not None:
                part.then()
        return written

    @dispatchmethod
    def handle(self, message: Any) -> Any:
        raise TypeError(f"RepoActor cannot handle {message!r}")

    @handle.register
    def _create(self, message: CreateWorkspace) -> Durable[tuple[Workspace, bool]]:
        ws = message.workspace
        existing = self.workspaces.get(ws.id)
        if existing is not None:
            return Durable((existing, False), self.write(_nothing))
        self.workspaces[ws.id] = ws
        # The row and its "created" event commit together. The id index admitted this
        # create; should the id be taken anyway (another relay process), the insert fails
        # (409) and nothing is published.
        created = Change(
            "workspace", {"change": "created", "workspace": ws.to_json()}, agent_id=ws.agent_id
        )
        commit = write_with_audit(
            self.rt, self.write, lambda: workspace_store.insert(ws), changes=[created]
        )
        return Durable((ws, True), commit)

    @handle.register
    def _set_status(self, message: SetStatus) -> Durable[Workspace]:
        current = self._workspace(message.workspace_id)
        rules.check_action(message.action, current)
        status = rules.STATUS_OF_ACTION[message.action]
        ws = rules.with_status(current, status, self._now(), message.metadata)
        row = audit.action(message.note, ws, None) if message.note else None
        return Durable(ws, self._commit([self._updated(ws)], [row]))

    @handle.register
    def _acquire(self, message: Acquire) -> MergeLease:
        ws = self._workspace(message.workspace_id)
        now = self._now()
        # An expired lease the job has not swept yet is released here, audited as the job
        # would have: the trail must not depend on which came first.
        self._expire(now, audited=True)
        if self.lease is not None:
            raise Conflict(rules.lease_held_message(self.lease))
        rules.check_action("merge", ws)
        lease = MergeLease(
            repo_root=self.key,
            workspace_id=ws.id,
            holder=message.holder,
            command_id=message.command_id,
            acquired_at=now,
            expires_at=now + message.ttl_ms,
        )
        acquired = self._lease_change("acquired", lease)
        try:
            # Written before replying, not group-acknowledged: the row's primary key is what
            # stops a second relay process from holding the same repo's lease. Not through
            # ``self.write``: a lost race is an answer (409), not a reason to reload.
            write_with_audit(
                self.rt,
                self.rt.store.submit_write,
                lambda: workspace_store.insert_lease(lease),
                changes=[acquired],
            ).result(self.rt.settings.store_timeout_seconds)
        except TimeoutError:
            raise Unavailable("store timed out") from None
        except Exception:
            held = self.rt.store.call(lambda: workspace_store.load_lease(self.key), write=True)
            if held is None:
                raise
            self.lease = held
            raise Conflict(rules.lease_held_message(held)) from None
        self.lease = lease
        return lease

    @handle.register
    def _plan(self, message: PlanMerge) -> Durable[Workspace]:
        lease = self.lease
        if (
            lease is None
            or lease.workspace_id != message.workspace_id
            or lease.command_id != message.command_id
        ):
            raise Conflict("merge lease was released before the merge was planned")
        ws = self._workspace(message.workspace_id)
        rules.check_action("merge", ws)  # again: an abandon since the lease is not undone
        metadata = {
            **message.metadata,
            "mergeCommandId": message.command_id,
            "statusBeforeMerge": ws.status,
        }
        metadata.pop("mergeError", None)
        planned = rules.with_status(ws, "merge_planned", self._now(), metadata)
        row = audit.action(message.note, planned, message.command_id) if message.note else None
        return Durable(planned, self._commit([self._updated(planned)], [row]))

    @handle.register
    def _abort(self, message: AbortMerge) -> Any:
        parts: list[_Part] = []
        if self.lease is not None and self.lease.command_id == message.command_id:
            released = self._released()
            assert released is not None
            parts.append(released[1])
        ws = self.workspaces.get(message.workspace_id)
        restored = None
        rows: list[ActivityInput | None] = []
        if rules.planned_for(ws, message.command_id):
            assert ws is not None
            restored = rules.merge_aborted(ws, message.error, self._now())
            parts.append(self._updated(restored))
            rows.append(audit.merge_aborted(restored, message.command_id))
        if not parts:
            return self.durable(None)
        return Durable(restored, self._commit(parts, rows))

    @handle.register
    def _release_for(self, message: Release) -> Any:
        if self.lease is None or self.lease.workspace_id != message.workspace_id:
            return self.durable(None)
        return self._release_now()

    @handle.register
    def _force_release(self, message: ForceRelease) -> Any:
        if self.lease is None or self.lease.workspace_id != message.workspace_id:
            return self.durable(None)
        released = self._released()
        if released is None:
            return self.durable(None)
        lease, part = released
        row = audit.lease_force_released(
            lease, message.released_by, self._orchestrator_of(lease.workspace_id)
        )
        return Durable(lease, self._commit([part], [row]))

    def _release_now(self) -> Any:
        released = self._released()
        if released is None:
            return self.durable(None)
        lease, part = released
        return Durable(lease, self._commit([part]))

    @handle.register
    def _begin_cleanup(self, message: BeginCleanup) -> Durable[Workspace]:
        ws = self._workspace(message.workspace_id)
        if self.lease is not None and self.lease.workspace_id == ws.id:
            raise Conflict(rules.MERGE_IN_PROGRESS)
        rules.check_action("cleanup", ws)
        metadata = {
            **message.metadata,
            "cleanupCommandId": message.command_id,
            "statusBeforeCleanup": rules.status_before_cleanup(ws),
        }
        updated = rules.with_status(ws, "cleanup_requested", self._now(), metadata)
        row = audit.action(message.note, updated, message.command_id) if message.note else None
        return Durable(updated, self._commit([self._updated(updated)], [row]))

    @handle.register
    def _abort_cleanup(self, message: AbortCleanup) -> Any:
        ws = self.workspaces.get(message.workspace_id)
        restored = (
            rules.cleanup_aborted(ws, message.command_id, message.error, self._now())
            if ws is not None
            else None
        )
        if restored is None:
            return self.durable(None)
        return Durable(restored, self._commit([self._updated(restored)]))

    @handle.register
    def _settled(self, message: CommandSettled) -> Any:
        # The workspace's move, the lease's release, their events and the settle's audit row
        # are one commit; a re-run of the hook (recovery) finds nothing left to change and
        # writes nothing, so it can never add a second row.
        command = message.command
        parts: list[_Part] = []
        released = None
        if self.lease is not None and self.lease.command_id == command.id:
            lease_part = self._released()
            assert lease_part is not None
            released, part = lease_part
            parts.append(part)
        workspace_id = _workspace_id(command)
        ws = self.workspaces.get(workspace_id) if workspace_id else None
        if ws is not None and not rules.settles_here(ws, command):
            ws = None
        outcome = SettleOutcome(None, False, released)
        rows: list[ActivityInput | None] = []
        if ws is not None:
            now = self._now()
            updated, removed = None, False
            if command.type == "workspace.merge":
                updated = rules.merge_outcome(ws, command, now)
            elif command.type == "workspace.cleanup":
                updated = rules.cleanup_outcome(ws, command, now)
            else:
                updated, removed = rules.reconcile_outcome(ws, command, now)
            if removed:
                parts.append(self._dropped(ws))
                rows.append(audit.settled(ws, command, removed=True))
                outcome = SettleOutcome(ws, True, released)
            elif updated is not None:
                parts.append(self._updated(updated))
                rows.append(audit.settled(updated, command, removed=False))
                outcome = SettleOutcome(updated, False, released)
        if not parts:
            return self.durable(outcome)
        return Durable(outcome, self._commit(parts, rows))

    @handle.register
    def _expire_lease(self, _message: ExpireLease) -> Any:
        expiry = self._expire(self._now(), audited=True)
        return self.durable(expiry)

    def _expire(self, now: int, *, audited: bool) -> Expiry | None:
        lease = self.lease
        if lease is None or not rules.lease_expired(lease, now):
            return None
        released = self._released()
        assert released is not None
        parts = [released[1]]
        ws = self.workspaces.get(lease.workspace_id)
        if ws is not None and ws.status == "merge_planned":
            ws = rules.with_status(
                ws, "ready", now, {"mergeError": "merge lease expired before the merge settled"}
            )
            parts.append(self._updated(ws))
        rows = [audit.lease_expired(lease, self._orchestrator_of(lease.workspace_id))]
        self._commit(parts, rows if audited else [])
        return Expiry(lease, ws)

    @handle.register
    def _delete(self, message: DeleteWorkspace) -> Durable[Workspace]:
        ws = self._workspace(message.workspace_id)
        self._expire(self._now(), audited=True)
        if self.lease is not None and self.lease.workspace_id == ws.id:
            # Its merge command is still out (the host may be merging): purging the record
            # must not free the repository for a second merge. Its settle or expiry will.
            raise Conflict(rules.MERGE_IN_PROGRESS)
        parts = [self._dropped(ws)]
        row = audit.action(message.note, ws, None) if message.note else None
        return Durable(ws, self._commit(parts, [row]))


@dataclass(frozen=True, slots=True)
class _Part:
    """One store write of a message's change, and the stream event describing it."""

    job: Callable[[], Awaitable[Any]]
    change: Change
    # Run once the write is queued (not committed): news for another actor that must
    # follow the write, such as the id index forgetting a deleted workspace.
    then: Callable[[], None] | None = None


def _workspace_id(command: Command) -> str | None:
    """The workspace a settle moves: the one the command's params name, which its creator
    was authorized on. Never one its result names: the reporting host would then move or
    delete any workspace it liked."""
    value = command.params.get("workspaceId")
    return str(value) if value else None


async def _nothing() -> None:
    return None
