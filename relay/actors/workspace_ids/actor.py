"""WorkspaceIdsActor: the owner of the workspace id → repository index.

Each repository's workspaces belong to that repository's RepoActor, so no repo actor
can see that another repository already uses an id. This actor decides it, one claim
at a time, before the create reaches the repo actor: of two concurrent creates of one
id in two repositories exactly one is admitted. The database's primary key on the
workspace id stays the backstop (a second relay process, a stale index).

The index is a cache of the store plus the claims in flight: an id it does not know is
looked up in the store (behind every queued write), so the actor loads nothing on start
and may be passivated like any other.
"""

from __future__ import annotations

from typing import Any

from relay.actors.runtime.aggregate import AggregateActor
from relay.actors.runtime.dispatch import dispatchmethod
from relay.actors.workspace_ids import rules
from relay.actors.workspace_ids.messages import KIND, Claim, Release
from relay.store import workspaces as workspace_store


class WorkspaceIdsActor(AggregateActor):
    kind = KIND

    owners: dict[str, str]

    def load(self) -> None:
        # Lazy: loading every workspace id up front would cost a full scan per activation.
        self.owners = {}

    def _owner(self, workspace_id: str) -> str | None:
        owner = self.owners.get(workspace_id)
        if owner is not None:
            return owner
        stored = self.read_through_queue(lambda: workspace_store.load(workspace_id))
        if stored is None:
            return None
        self.owners[workspace_id] = stored.repo_root
        return stored.repo_root

    @dispatchmethod
    def handle(self, message: Any) -> Any:
        raise TypeError(f"WorkspaceIdsActor cannot handle {message!r}")

    @handle.register
    def _claim(self, message: Claim) -> bool:
        outcome = rules.claim(
            message.workspace_id, self._owner(message.workspace_id), message.repo_root
        )
        self.owners[message.workspace_id] = message.repo_root
        return outcome == "claimed"

    @handle.register
    def _release(self, message: Release) -> None:
        if rules.released(self.owners.get(message.workspace_id), message.repo_root):
            del self.owners[message.workspace_id]
