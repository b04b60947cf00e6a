"""The JSON shapes the routes return, as ``/openapi.json`` documents them.

Documentation only: handlers return plain dicts (msgspec passes them through, see
``create_app``), so nothing here runs per request. The schemathesis run in
tests/http/test_contract_fuzz.py checks every response against these shapes, so a
``to_json`` that drifts from its model fails there.

Fields are camelCase on the wire; every shape allows more fields than it names (a newer
relay may add one without breaking a client).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from relay.domain.agents import Presence
from relay.domain.commands import CommandStatus, TargetKind
from relay.domain.workspaces import WorkspaceMode, WorkspaceStatus

JSONObject = dict[str, Any]


class Shape(BaseModel):
    """Base of response shapes: camelCase, open to fields added later."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


class Error(Shape):
    """Every failure: a message naming the problem (never a traceback)."""

    error: str


class Ok(Shape):
    ok: Literal[True]


class Ready(Shape):
    ok: Literal[True]
    store: str
    role: Literal["single", "active"]
    epoch: int


class ClusterSelf(Shape):
    id: str
    url: str
    role: Literal["single", "standby", "starting", "active"]


class ClusterActive(Shape):
    id: str
    url: str | None
    since: str | None


class ClusterStandby(Shape):
    id: str
    url: str
    seen_at: str


class Cluster(Shape):
    """The processes of one relay: the active one, the standbys, and the leadership epoch."""

    self_: ClusterSelf = Field(alias="self")
    active: ClusterActive | None
    standbys: list[ClusterStandby]
    epoch: int
    changed_at: str | None


# -- agents ------------------------------------------------------------------------------------


class AgentCard(Shape):
    id: str
    name: str
    kind: str
    status: Presence
    ready: bool
    tags: list[str]
    meta: JSONObject
    registered_at: int
    last_seen_at: int
    orchestrator_id: str | None = None
    provider_capabilities: JSONObject | None = None


class RegisteredAgent(AgentCard):
    heartbeat_interval_seconds: float


class TimelineEntry(Shape):
    id: int
    agent_id: str
    kind: str
    title: str
    metadata: JSONObject
    created_at: int
    body: str | None = None


class DeletedAgent(Ok):
    id: str


class ActionAvailability(Shape):
    action: str
    available: bool
    reason: str | None


# -- commands ----------------------------------------------------------------------------------


class Command(Shape):
    id: str
    type: str
    source: str | None
    target: str
    target_kind: TargetKind
    correlation_id: str | None
    params: JSONObject
    status: CommandStatus
    result: Any
    error: str | None
    attempts: int
    created_at: int
    updated_at: int
    delivered_at: int | None
    settled_at: int | None
    expires_at: int | None


class CommandReply(Shape):
    command: Command


class SpawnReply(CommandReply):
    spawn_request_id: str


# -- activity ----------------------------------------------------------------------------------


class ActivityEvent(Shape):
    id: int
    kind: str
    title: str
    metadata: JSONObject
    created_at: int
    client_id: str | None = None
    body: str | None = None
    meta: str | None = None
    icon: str | None = None
    view: str | None = None
    agent_id: str | None = None


# -- orchestrators -----------------------------------------------------------------------------


class ManagedAgent(Shape):
    agent_id: str
    session_name: str | None
    provider: str | None
    status: str | None


class Orchestrator(Shape):
    id: str
    agent_id: str | None
    name: str
    host: str | None
    base_dir: str
    status: Presence
    capabilities: JSONObject
    runtime: JSONObject
    managed_agents: list[ManagedAgent]
    registered_at: int
    last_heartbeat_at: int


class RegisteredOrchestrator(Shape):
    orchestrator: Orchestrator
    token: str = Field(description="the orchestrator's runtime token")
    heartbeat_interval_seconds: float


# -- workspaces and merge leases ---------------------------------------------------------------


class Workspace(Shape):
    id: str
    agent_id: str | None
    orchestrator_id: str | None
    repo_root: str
    source_cwd: str
    worktree_path: str
    branch: str | None
    base_ref: str | None
    base_sha: str | None
    mode: WorkspaceMode
    status: WorkspaceStatus
    metadata: JSONObject
    created_at: int
    updated_at: int


class WorkspaceReply(Shape):
    workspace: Workspace


class WorkspaceActionReply(Shape):
    """The workspace after the action, and the command it queued (merge) if any."""

    workspace: Workspace
    command: Command | None = None


class DeletedWorkspace(Ok):
    id: str


class MergeLease(Shape):
    repo_root: str
    workspace_id: str
    holder: str
    command_id: str | None
    acquired_at: int
    expires_at: int


class ReleasedLease(Shape):
    released: MergeLease


class MergeQueueEntry(Shape):
    """One repository: who holds its merge lease, and which workspaces wait to merge
    (ready or review_requested, oldest ``updatedAt`` first)."""

    repo_root: str
    lease: MergeLease | None
    waiting: list[Workspace]


class WorkspaceTransitions(Shape):
    """For every workspace action, the statuses it may start from."""

    actions: dict[str, list[WorkspaceStatus]]


# -- tokens ------------------------------------------------------------------------------------


class TokenRecord(Shape):
    jti: str
    sub: str
    role: str
    scope: list[str]
    constraints: dict[str, list[str]]
    profile_id: str | None
    created_by: str | None
    created_at: int
    expires_at: int
    revoked_at: int | None


class IssuedToken(Shape):
    token: str
    record: TokenRecord


class RevokedToken(Ok):
    jti: str
    record: TokenRecord | None


class Me(Shape):
    sub: str
    role: str
    root: bool
    scope: list[str]
    constraints: dict[str, list[str]]


class StreamTicket(Shape):
    ticket: str
    expires_at: int


# -- config, profiles, maintenance -------------------------------------------------------------


class ConfigEntry(Shape):
    namespace: str
    key: str
    version: int
    value: Any
    updated_at: int | None = Field(description="null only for a steward config never written")
    updated_by: str | None


class ConfigRevision(Shape):
    namespace: str
    key: str
    version: int
    value: Any
    deleted: bool
    updated_at: int
    updated_by: str | None


class DeletedConfig(Ok):
    namespace: str
    key: str
    version: int


class AgentProfile(Shape):
    """The stored profile's fields, plus its name and version."""

    name: str
    version: int
    updated_at: int
    updated_by: str | None


class DeletedProfile(Ok):
    name: str


class JobState(Shape):
    name: str
    interval_seconds: float
    running: bool
    last_run_at: int | None
    duration_ms: int | None
    result: Any
    error: str | None
    next_run_at: int | None


class JobRun(Shape):
    """``result`` when the job ran, ``error`` when it raised."""

    job: JobState
    result: Any = None
    error: str | None = None


# -- channels ----------------------------------------------------------------------------------


class Channel(Shape):
    id: str
    description: str | None = None
    conversation_id: str
    created_at: int
    updated_at: int


class ChannelSummary(Channel):
    bindings: int
    last_message_at: int | None


class ChannelBinding(Shape):
    id: str
    channel_id: str
    mode: Literal["exclusive", "broadcast"]
    target_type: Literal["agent", "label", "tag", "capability"]
    target: str
    direction: Literal["inbound", "outbound", "both"]
    created_at: int


class ChannelWithBindings(Channel):
    bindings: list[ChannelBinding]


class DeletedChannel(Ok):
    id: str


class ChannelMatch(Shape):
    binding_id: str
    target_type: Literal["agent", "label", "tag", "capability"]
    target: str


class ChannelRouteTarget(Shape):
    agent_id: str
    mode: Literal["exclusive", "broadcast"]
    matched_by: ChannelMatch


class ChannelRoute(Shape):
    channel_id: str
    targets: list[ChannelRouteTarget]


# -- messaging ---------------------------------------------------------------------------------


class Message(Shape):
    id: str
    client_message_id: str
    conversation_id: str
    seq: int
    from_: str = Field(alias="from")
    thread_id: str
    ack_required: bool
    importance: Literal["low", "normal", "high", "urgent"]
    attachments: list[JSONObject]
    max_attempts: int
    expires_at: int
    created_at: int
    body: str
    to: str | None = None
    channel_id: str | None = None
    reply_to: str | None = None


class Delivery(Shape):
    id: str
    message_id: str
    agent_id: str
    conversation_id: str
    seq: int
    state: Literal["queued", "leased", "acked", "expired", "dead_lettered"]
    attempt: int
    max_attempts: int
    queued_at: int
    lease_id: str | None = None
    lease_expires_at: int | None = None
    matched_by: JSONObject | None = None
    acked_at: int | None = None
    ended_at: int | None = None


class SentMessage(Shape):
    message: Message
    deliveries: list[Delivery]


class Conversation(Shape):
    id: str
    kind: Literal["direct", "channel", "pair"]
    participants: list[str]
    last_seq: int
    channel_id: str | None = None
    pair_id: str | None = None
    last_message_at: int | None = None


class ConversationMessages(Shape):
    conversation_id: str
    last_seq: int
    messages: list[Message]


class InboxItem(Shape):
    delivery_id: str
    attempt: int
    message: Message


class Inbox(Shape):
    lease_id: str | None
    lease_expires_at: int | None
    items: list[InboxItem]


class Acked(Shape):
    acked: list[str]
