"""The repo aggregate: one RepoActor per repository root, owning the repo's workspaces and
its merge lease; its messages, rules and the merge flows.
"""

from relay.actors.repo.actor import RepoActor
from relay.actors.repo.audit import ActionNote
from relay.actors.repo.auto_merge import auto_merge
from relay.actors.repo.flows import (
    CLEANED_RETENTION_MS,
    INTERRUPTED_MERGE,
    WORKSPACE_COMMANDS,
    create_workspace,
    expire_merge_leases,
    force_release,
    on_workspace_command_settled,
    owners,
    purge_cleaned,
    release_unbound_leases,
    request_cleanup,
    request_workspace_merge,
)
from relay.actors.repo.install import install
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

__all__ = [
    "CLEANED_RETENTION_MS",
    "INTERRUPTED_MERGE",
    "KIND",
    "WORKSPACE_COMMANDS",
    "AbortCleanup",
    "AbortMerge",
    "Acquire",
    "ActionNote",
    "BeginCleanup",
    "CommandSettled",
    "CreateWorkspace",
    "DeleteWorkspace",
    "ExpireLease",
    "Expiry",
    "ForceRelease",
    "PlanMerge",
    "Release",
    "RepoActor",
    "SetStatus",
    "SettleOutcome",
    "auto_merge",
    "create_workspace",
    "expire_merge_leases",
    "force_release",
    "install",
    "on_workspace_command_settled",
    "owners",
    "purge_cleaned",
    "release_unbound_leases",
    "request_cleanup",
    "request_workspace_merge",
]
