"""The JSON shapes the routes return, as ``/openapi.json`` documents them.

Documentation only: handlers return plain dicts (msgspec passes them through, see
``create_app``), so nothing here runs per request. The schemathesis run in
tests/http/test_contract_fuzz.py checks every response against these shapes, so a
``to_json`` that drifts from its model fails there.

Fields are camelCase on the wire; every shape allows more fields than it names (a newer
relay may add one without breaking a client).

One module per resource (``agents``, ``commands``, ``workspaces`` …) on ``base``
(``Shape``, ``Error``, ``Ok``); handlers use the names re-exported here
(``responses.AgentCard``).
"""

from __future__ import annotations

from relay.http.responses.activity import ActivityEvent
from relay.http.responses.agents import (
    ActionAvailability,
    AgentCard,
    DeletedAgent,
    RegisteredAgent,
    TimelineEntry,
)
from relay.http.responses.base import Error, JSONObject, Ok, Shape
from relay.http.responses.channels import (
    Channel,
    ChannelBinding,
    ChannelMatch,
    ChannelRoute,
    ChannelRouteTarget,
    ChannelSummary,
    ChannelWithBindings,
    DeletedChannel,
)
from relay.http.responses.cluster import Cluster, ClusterActive, ClusterSelf, ClusterStandby, Ready
from relay.http.responses.commands import Command, CommandReply, SpawnReply
from relay.http.responses.config import (
    AgentProfile,
    ConfigEntry,
    ConfigRevision,
    DeletedConfig,
    DeletedProfile,
)
from relay.http.responses.maintenance import JobRun, JobState
from relay.http.responses.messaging import (
    Acked,
    Conversation,
    ConversationMessages,
    Delivery,
    Inbox,
    InboxItem,
    Message,
    SentMessage,
)
from relay.http.responses.orchestrators import ManagedAgent, Orchestrator, RegisteredOrchestrator
from relay.http.responses.tokens import IssuedToken, Me, RevokedToken, StreamTicket, TokenRecord
from relay.http.responses.workspaces import (
    DeletedWorkspace,
    MergeLease,
    MergeQueueEntry,
    ReleasedLease,
    Workspace,
    WorkspaceActionReply,
    WorkspaceReply,
    WorkspaceTransitions,
)

__all__ = [
    "Acked",
    "ActionAvailability",
    "ActivityEvent",
    "AgentCard",
    "AgentProfile",
    "Channel",
    "ChannelBinding",
    "ChannelMatch",
    "ChannelRoute",
    "ChannelRouteTarget",
    "ChannelSummary",
    "ChannelWithBindings",
    "Cluster",
    "ClusterActive",
    "ClusterSelf",
    "ClusterStandby",
    "Command",
    "CommandReply",
    "ConfigEntry",
    "ConfigRevision",
    "Conversation",
    "ConversationMessages",
    "DeletedAgent",
    "DeletedChannel",
    "DeletedConfig",
    "DeletedProfile",
    "DeletedWorkspace",
    "Delivery",
    "Error",
    "Inbox",
    "InboxItem",
    "IssuedToken",
    "JSONObject",
    "JobRun",
    "JobState",
    "ManagedAgent",
    "Me",
    "MergeLease",
    "MergeQueueEntry",
    "Message",
    "Ok",
    "Orchestrator",
    "Ready",
    "RegisteredAgent",
    "RegisteredOrchestrator",
    "ReleasedLease",
    "RevokedToken",
    "SentMessage",
    "Shape",
    "SpawnReply",
    "StreamTicket",
    "TimelineEntry",
    "TokenRecord",
    "Workspace",
    "WorkspaceActionReply",
    "WorkspaceReply",
    "WorkspaceTransitions",
]
