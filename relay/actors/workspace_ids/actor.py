"""WorkspaceIdsActor: the owner of the workspace id → repository index.

Each repository's workspaces belong to that repository's RepoActor, so no repo actor
can see that another repository already uses an id. This actor decides it, one claim
at a time, before the create reaches the repo actor: of two concurrent creates of one
id in two repositories exactly one is admitted. The database's primary key on the
workspace id stays the backstop (a second relay process, a stale index).

The index holds the ids claimed through it (in flight or recorded) until their records
are deleted; for any other id the caller passes what the store's record says, read just
before it asks (the create flow reads the record anyway, to authorize it). So the actor
loads nothing on start, may be passivated like any other, and never waits on the store:
every create passes through it, and a store read here, one at a time, halved the rate of
concurrent creates.
"""

from __future__ import annotations

from typing import Any

from relay.actors.runtime.aggregate import AggregateActor
from relay.actors.runtime.dispatch import dispatchmethod
from relay.actors.workspace_ids import rules
from relay.actors.workspace_ids.messages import KIND, Claim, Release


class WorkspaceIdsActor(AggregateActor):
    kind = KIND

    owners: dict[str, str]

    def load(self) -> None:
        # Lazy: loading every workspace id up front would cost a full scan per activation.
        self.owners = {}

    @dispatchmethod
    def handle(self, message: Any) -> Any:
        raise TypeError(f"WorkspaceIdsActor cannot handle {message!r}")

    @handle.register
    def _claim(self, message: Claim) -> bool:
        owner = self.owners.get(message.workspace_id, message.stored_owner)
        outcome = rules.claim(message.workspace_id, owner, message.repo_root)
        self.owners[message.workspace_id] = message.repo_root
        return outcome == "claimed"

    @handle.register
    def _release(self, message: Release) -> None:
        if rules.released(self.owners.get(message.workspace_id), message.repo_root):
            del self.owners[message.workspace_id]
