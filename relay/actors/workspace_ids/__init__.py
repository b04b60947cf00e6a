"""The workspace id index: one WorkspaceIdsActor owns which repository uses each workspace
id (ids are unique across repositories); its messages, rules and flows.
"""

from relay.actors.workspace_ids.actor import WorkspaceIdsActor
from relay.actors.workspace_ids.flows import claim, forget, release
from relay.actors.workspace_ids.install import install
from relay.actors.workspace_ids.messages import KEY, KIND, Claim, Release

__all__ = [
    "KEY",
    "KIND",
    "Claim",
    "Release",
    "WorkspaceIdsActor",
    "claim",
    "forget",
    "install",
    "release",
]
