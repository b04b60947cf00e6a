"""RepoActor: one per repository root — its merge lease and its workspaces.

The lease and the statuses of the repo's workspaces change together (a merge
takes the lease and plans the workspace; its settle moves the workspace and
releases the lease), so one actor owns both: every merge request for a repo
is decided here, one at a time. The database's primary key on the lease's
repo is the backstop across relay processes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from relay.actors.repo import rules
from relay.actors.repo.messages import (
    KIND,
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
from relay.domain.commands import Command
from relay.domain.workspaces import MergeLease, Workspace
from relay.errors import Conflict, NotFound
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

    def _workspace(self, workspace_id: str) -> Workspace:
        ws = self.workspaces.get(workspace_id)
        if ws is None:
            raise NotFound("workspace not found")
        return ws

    def _save(self, ws: Workspace) -> Any:
        self.workspaces[ws.id] = ws
        self.rt.events.publish(
            "workspace", {"change": "updated", "workspace": ws.to_json()}, agent_id=ws.agent_id
        )
        return self.write(lambda: workspace_store.update(ws))

    def _release(self) -> MergeLease | None:
        lease = self.lease
        if lease is None:
            return None
        self.lease = None
        self.write(lambda: workspace_store.delete_lease(lease.repo_root, lease.workspace_id))
        self.rt.events.publish("lease", {"change": "released", "lease": lease.to_json()})
        return lease

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
        ws = rules.with_status(
            self._workspace(message.workspace_id), message.status, self._now(), message.metadata
        )
        return Durable(ws, self._save(ws))

    @handle.register
    def _acquire(self, message: Acquire) -> MergeLease:
        ws = self._workspace(message.workspace_id)
        now = self._now()
        if self.lease is not None and rules.lease_expired(self.lease, now):
            self._expire(now)
        if self.lease is not None:
            raise Conflict(rules.lease_held_message(self.lease))
        if not rules.can_merge(ws):
            raise Conflict(f"workspace is {ws.status}; cannot merge")
        lease = MergeLease(
            repo_root=self.key,
            workspace_id=ws.id,
            holder=message.holder,
            command_id=None,
            acquired_at=now,
            expires_at=now + message.ttl_ms,
        )
        try:
            # Written before replying, not group-acknowledged: the row's primary key is what
            # stops a second relay process from holding the same repo's lease.
            self.rt.store.call(lambda: workspace_store.insert_lease(lease), write=True)
        except Exception:
            held = self.rt.store.call(lambda: workspace_store.load_lease(self.key), write=True)
            if held is None:
                raise
            self.lease = held
            raise Conflict(rules.lease_held_message(held)) from None
        self.lease = lease
        self.rt.events.publish("lease", {"change": "acquired", "lease": lease.to_json()})
        return lease

    @handle.register
    def _plan(self, message: PlanMerge) -> Durable[Workspace]:
        lease = self.lease
        if lease is None or lease.workspace_id != message.workspace_id:
            raise Conflict("merge lease was released before the merge was planned")
        bound = replace(lease, command_id=message.command_id)
        self.lease = bound
        self.write(
            lambda: workspace_store.bind_lease(
                bound.repo_root, bound.workspace_id, message.command_id
            )
        )
        metadata = {**message.metadata, "mergeCommandId": message.command_id}
        metadata.pop("mergeError", None)
        ws = rules.with_status(
            self._workspace(message.workspace_id), "merge_planned", self._now(), metadata
        )
        return Durable(ws, self._save(ws))

    @handle.register
    def _abort(self, message: AbortMerge) -> Any:
        if self.lease is not None and self.lease.command_id == message.command_id:
            self._release()
        ws = self.workspaces.get(message.workspace_id)
        if ws is None or ws.metadata.get("mergeCommandId") != message.command_id:
            return None
        restored = rules.with_status(
            ws, message.previous_status, self._now(), {"mergeError": message.error}
        )
        self._save(restored)
        return self.durable(restored)

    @handle.register
    def _release_for(self, message: Release) -> Any:
        if self.lease is None or self.lease.workspace_id != message.workspace_id:
            return None
        return self.durable(self._release())

    @handle.register
    def _force_release(self, _message: ForceRelease) -> Any:
        return self.durable(self._release())

    @handle.register
    def _begin_cleanup(self, message: BeginCleanup) -> Durable[Workspace]:
        ws = self._workspace(message.workspace_id)
        if self.lease is not None and self.lease.workspace_id == ws.id:
            raise Conflict("a merge is in progress for this workspace; retry after it settles")
        metadata = {
            **message.metadata,
            "cleanupCommandId": message.command_id,
            "statusBeforeCleanup": ws.status,
        }
        updated = rules.with_status(ws, "cleanup_requested", self._now(), metadata)
        return Durable(updated, self._save(updated))

    @handle.register
    def _settled(self, message: CommandSettled) -> Any:
        command = message.command
        released = None
        if self.lease is not None and self.lease.command_id == command.id:
            released = self._release()
        workspace_id = _workspace_id(command)
        ws = self.workspaces.get(workspace_id) if workspace_id else None
        if ws is None:
            return self.durable(SettleOutcome(None, False, released))
        now = self._now()
        if command.type == "workspace.merge":
            updated = rules.merge_outcome(ws, command, now)
        elif command.type == "workspace.cleanup":
            updated = rules.cleanup_outcome(ws, command, now)
        else:
            updated, removed = rules.reconcile_outcome(ws, command, now)
            if removed:
                self._drop(ws)
                return self.durable(SettleOutcome(ws, True, released))
        if updated is not None:
            self._save(updated)
        return self.durable(SettleOutcome(updated, False, released))

    @handle.register
    def _expire_lease(self, _message: ExpireLease) -> Any:
        return self.durable(self._expire(self._now()))

    def _expire(self, now: int) -> Expiry | None:
        lease = self.lease
        if lease is None or not rules.lease_expired(lease, now):
            return None
        self._release()
        ws = self.workspaces.get(lease.workspace_id)
        if ws is not None and ws.status == "merge_planned":
            ws = rules.with_status(
                ws, "ready", now, {"mergeError": "merge lease expired before the merge settled"}
            )
            self._save(ws)
        return Expiry(lease, ws)

    @handle.register
    def _delete(self, message: DeleteWorkspace) -> Durable[Workspace]:
        ws = self._workspace(message.workspace_id)
        if self.lease is not None and self.lease.workspace_id == ws.id:
            self._release()
        return Durable(ws, self._drop(ws))

    def _drop(self, ws: Workspace) -> Any:
        self.workspaces.pop(ws.id, None)
        self.rt.events.publish(
            "workspace", {"change": "deleted", "workspace": ws.to_json()}, agent_id=ws.agent_id
        )
        deleted = self.write(lambda: workspace_store.delete(ws.id))
        # The id is free for any repository again. Told after the delete is queued: a claim
        # the index then looks up in the store reads behind it and finds no row.
        workspace_ids.forget(self.rt, ws.id, self.key)
        return deleted


def _workspace_id(command: Command) -> str | None:
    result = command.result if isinstance(command.result, dict) else {}
    value = command.params.get("workspaceId") or result.get("workspaceId")
    return str(value) if value else None


async def _nothing() -> None:
    return None
