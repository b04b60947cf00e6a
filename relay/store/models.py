"""tortoise models: the tables. Nothing above relay.store sees these classes."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Agent(Model):
    id = fields.CharField(primary_key=True, max_length=200)
    name = fields.CharField(max_length=200)
    kind = fields.CharField(max_length=64)
    status = fields.CharField(max_length=16, db_index=True)
    ready = fields.BooleanField(default=False)
    tags = fields.JSONField(default=list)
    orchestrator_id = fields.CharField(max_length=200, null=True, db_index=True)
    provider_capabilities = fields.JSONField(null=True)
    meta = fields.JSONField(default=dict)
    registered_at = fields.BigIntField()
    last_seen_at = fields.BigIntField()

    class Meta:
        table = "agents"


class TimelineEntry(Model):
    id = fields.BigIntField(primary_key=True)
    agent_id = fields.CharField(max_length=200)
    kind = fields.CharField(max_length=64)
    title = fields.TextField()
    body = fields.TextField(null=True)
    metadata = fields.JSONField(default=dict)
    created_at = fields.BigIntField()

    class Meta:
        table = "agent_timeline"
        indexes = (("agent_id", "id"),)


class ActivityEvent(Model):
    id = fields.BigIntField(primary_key=True)
    client_id = fields.CharField(max_length=200, null=True, unique=True)
    kind = fields.CharField(max_length=64)
    title = fields.TextField()
    body = fields.TextField(null=True)
    meta = fields.TextField(null=True)
    icon = fields.CharField(max_length=64, null=True)
    view = fields.CharField(max_length=64, null=True, db_index=True)
    agent_id = fields.CharField(max_length=200, null=True, db_index=True)
    metadata = fields.JSONField(default=dict)
    created_at = fields.BigIntField(db_index=True)

    class Meta:
        table = "activity_events"


class TokenRecord(Model):
    jti = fields.CharField(primary_key=True, max_length=64)
    sub = fields.CharField(max_length=200)
    role = fields.CharField(max_length=64)
    scope = fields.JSONField(default=list)
    constraints = fields.JSONField(default=dict)
    profile_id = fields.CharField(max_length=64, null=True)
    created_by = fields.CharField(max_length=200, null=True)
    created_at = fields.BigIntField()
    expires_at = fields.BigIntField()
    revoked_at = fields.BigIntField(null=True)

    class Meta:
        table = "token_records"


class TokenRevocation(Model):
    """A deny-list row: validly signed tokens need no record, so revocation stands alone."""

    jti = fields.CharField(primary_key=True, max_length=64)
    revoked_at = fields.BigIntField()
    expires_at = fields.BigIntField(null=True, description="prunable after this")

    class Meta:
        table = "token_revocations"


class Orchestrator(Model):
    id = fields.CharField(primary_key=True, max_length=200)
    agent_id = fields.CharField(max_length=200, null=True, db_index=True)
    name = fields.CharField(max_length=200)
    host = fields.CharField(max_length=255, null=True)
    base_dir = fields.TextField()
    status = fields.CharField(max_length=16, db_index=True)
    capabilities = fields.JSONField(default=dict)
    runtime = fields.JSONField(default=dict)
    managed_agents = fields.JSONField(default=list)
    registered_at = fields.BigIntField()
    last_heartbeat_at = fields.BigIntField()

    class Meta:
        table = "orchestrators"


class Command(Model):
    id = fields.CharField(primary_key=True, max_length=64)
    type = fields.CharField(max_length=64, db_index=True)
    source = fields.CharField(max_length=200, null=True)
    target = fields.CharField(max_length=200)
    target_kind = fields.CharField(max_length=16)
    correlation_id = fields.CharField(max_length=200, null=True, db_index=True)
    params = fields.JSONField(default=dict)
    status = fields.CharField(max_length=16, db_index=True)
    result = fields.JSONField(null=True)
    error = fields.TextField(null=True)
    attempts = fields.IntField(default=0)
    created_at = fields.BigIntField(db_index=True)
    updated_at = fields.BigIntField()
    delivered_at = fields.BigIntField(null=True)
    ack_deadline = fields.BigIntField(null=True)
    settled_at = fields.BigIntField(null=True)
    expires_at = fields.BigIntField(null=True)
    effects_applied = fields.BooleanField(default=False)
    # ``params.agentId``: the agent a command routed through an orchestrator is about (a
    # restart, a compact), so GET /api/commands?agentId= finds them by index.
    agent_id = fields.CharField(max_length=200, null=True, db_index=True)

    class Meta:
        table = "commands"
        # (effects_applied, settled_at): the recovery job's scan of unmarked settles reads
        # only those, not every command ever settled.
        indexes = (("target", "status"), ("effects_applied", "settled_at"))


class Workspace(Model):
    id = fields.CharField(primary_key=True, max_length=64)
    agent_id = fields.CharField(max_length=200, null=True, db_index=True)
    orchestrator_id = fields.CharField(max_length=200, null=True)
    repo_root = fields.TextField()
    source_cwd = fields.TextField()
    worktree_path = fields.TextField()
    branch = fields.CharField(max_length=255, null=True)
    base_ref = fields.CharField(max_length=255, null=True)
    base_sha = fields.CharField(max_length=64, null=True)
    mode = fields.CharField(max_length=16)
    status = fields.CharField(max_length=32, db_index=True)
    metadata = fields.JSONField(default=dict)
    created_at = fields.BigIntField()
    updated_at = fields.BigIntField()

    class Meta:
        table = "workspaces"


class MergeLease(Model):
    """At most one row per repository: the unique key is the backstop for the lease actor."""

    repo_root = fields.CharField(primary_key=True, max_length=1024)
    workspace_id = fields.CharField(max_length=64)
    holder = fields.CharField(max_length=200)
    command_id = fields.CharField(max_length=64, null=True, db_index=True)
    acquired_at = fields.BigIntField()
    expires_at = fields.BigIntField()

    class Meta:
        table = "merge_leases"


class ConfigEntry(Model):
    id = fields.BigIntField(primary_key=True)
    namespace = fields.CharField(max_length=100)
    key = fields.CharField(max_length=200)
    version = fields.IntField()
    value = fields.JSONField(null=True)
    updated_at = fields.BigIntField()
    updated_by = fields.CharField(max_length=200, null=True)

    class Meta:
        table = "config_entries"
        unique_together = (("namespace", "key"),)


class ConfigHistory(Model):
    id = fields.BigIntField(primary_key=True)
    namespace = fields.CharField(max_length=100)
    key = fields.CharField(max_length=200)
    version = fields.IntField()
    value = fields.JSONField(null=True)
    deleted = fields.BooleanField(default=False)
    updated_at = fields.BigIntField()
    updated_by = fields.CharField(max_length=200, null=True)

    class Meta:
        table = "config_history"
        unique_together = (("namespace", "key", "version"),)


class StreamEvent(Model):
    """The live event stream's log: its id is the SSE event id, so Last-Event-ID can replay."""

    id = fields.BigIntField(primary_key=True)
    event = fields.CharField(max_length=32)
    data = fields.JSONField()
    view = fields.CharField(max_length=64, null=True)
    agent_id = fields.CharField(max_length=200, null=True)
    created_at = fields.BigIntField(db_index=True)

    class Meta:
        table = "stream_events"


class MaintenanceRun(Model):
    """The last run of each maintenance job, so the schedule survives a restart."""

    name = fields.CharField(primary_key=True, max_length=64)
    last_run_at = fields.BigIntField(null=True)
    duration_ms = fields.IntField(null=True)
    result = fields.JSONField(null=True)
    error = fields.TextField(null=True)
    next_run_at = fields.BigIntField(null=True)

    class Meta:
        table = "maintenance_runs"


class Channel(Model):
    id = fields.CharField(primary_key=True, max_length=64)
    description = fields.TextField(null=True)
    conversation_id = fields.CharField(max_length=64)
    # agent id → the channel's choice counter when it last chose that agent (exclusive
    # routing's "least recently chosen"), so the rotation survives passivation and restarts.
    last_chosen = fields.JSONField(default=dict)
    created_at = fields.BigIntField()
    updated_at = fields.BigIntField()

    class Meta:
        table = "channels"


class ChannelBinding(Model):
    """The unique key backs the channel actor's rule: one binding per mode, type and target."""

    id = fields.CharField(primary_key=True, max_length=36)
    channel_id = fields.CharField(max_length=64, db_index=True)
    mode = fields.CharField(max_length=16)
    target_type = fields.CharField(max_length=16)
    target = fields.CharField(max_length=200)
    direction = fields.CharField(max_length=16)
    created_at = fields.BigIntField()

    class Meta:
        table = "channel_bindings"
        unique_together = (("channel_id", "mode", "target_type", "target"),)


class Message(Model):
    """A message; (sender, client_message_id) and (conversation_id, seq) back the
    conversation actor's idempotency and its gap-free order."""

    id = fields.CharField(primary_key=True, max_length=64)
    client_message_id = fields.CharField(max_length=128)
    conversation_id = fields.CharField(max_length=64)
    seq = fields.IntField()
    sender = fields.CharField(max_length=200)
    to = fields.CharField(max_length=200, null=True)
    channel_id = fields.CharField(max_length=64, null=True)
    thread_id = fields.CharField(max_length=64)
    reply_to = fields.CharField(max_length=64, null=True)
    ack_required = fields.BooleanField(default=False)
    importance = fields.CharField(max_length=16)
    body = fields.TextField()
    attachments = fields.JSONField(default=list)
    max_attempts = fields.IntField()
    expires_at = fields.BigIntField(db_index=True)
    created_at = fields.BigIntField()
    # [{"agentId", "matchedBy"}] as the send resolved them; null for messages stored before
    # recipients were kept. The delivery repair queues what a cut-short send did not.
    recipients = fields.JSONField(null=True)
    # Whether the sender was an agent at send time; null when stored before it was kept.
    sender_is_agent = fields.BooleanField(null=True)

    class Meta:
        table = "messages"
        unique_together = (("sender", "client_message_id"), ("conversation_id", "seq"))
        indexes = (("created_at",),)


class Delivery(Model):
    """One per (message, recipient); ``position`` is its place in the recipient's inbox."""

    id = fields.CharField(primary_key=True, max_length=64)
    message_id = fields.CharField(max_length=64)
    agent_id = fields.CharField(max_length=200)
    conversation_id = fields.CharField(max_length=64)
    seq = fields.IntField()
    state = fields.CharField(max_length=16)
    attempt = fields.IntField(default=0)
    max_attempts = fields.IntField()
    position = fields.BigIntField()
    queued_at = fields.BigIntField()
    expires_at = fields.BigIntField()
    ack_required = fields.BooleanField(default=False)
    lease_id = fields.CharField(max_length=64, null=True)
    lease_expires_at = fields.BigIntField(null=True)
    matched_by = fields.JSONField(null=True)
    acked_at = fields.BigIntField(null=True)
    ended_at = fields.BigIntField(null=True)

    class Meta:
        table = "deliveries"
        unique_together = (("message_id", "agent_id"), ("agent_id", "position"))
        indexes = (("agent_id", "state"), ("state", "lease_expires_at"), ("state", "expires_at"))


class Conversation(Model):
    id = fields.CharField(primary_key=True, max_length=64)
    kind = fields.CharField(max_length=16)
    participants = fields.JSONField(default=list)
    channel_id = fields.CharField(max_length=64, null=True, db_index=True)
    pair_id = fields.CharField(max_length=64, null=True)
    last_seq = fields.IntField(default=0)
    last_message_at = fields.BigIntField(null=True)

    class Meta:
        table = "conversations"


class Pair(Model):
    """A pair; its PairActor is the only writer. Which agent is in which open pair is
    decided by the one PairPartiesActor (status is indexed for its load)."""

    id = fields.CharField(primary_key=True, max_length=64)
    driver = fields.CharField(max_length=200)
    navigator = fields.CharField(max_length=200)
    task_id = fields.CharField(max_length=200, null=True)
    objective = fields.TextField(null=True)
    conversation_id = fields.CharField(max_length=64)
    status = fields.CharField(max_length=32, db_index=True)
    joined = fields.JSONField(default=list)
    created_by = fields.CharField(max_length=200)
    version = fields.IntField(default=1)
    created_at = fields.BigIntField()
    updated_at = fields.BigIntField()

    class Meta:
        table = "pairs"


class IntegrationEvent(Model):
    """The unique (integration, delivery_id) backs the dedupe of repeated deliveries."""

    id = fields.CharField(primary_key=True, max_length=64)
    integration = fields.CharField(max_length=100)
    delivery_id = fields.CharField(max_length=200)
    type = fields.CharField(max_length=100)
    subject = fields.CharField(max_length=500, null=True)
    payload = fields.JSONField(default=dict)
    occurred_at = fields.BigIntField(null=True)
    received_at = fields.BigIntField(db_index=True)

    class Meta:
        table = "integration_events"
        unique_together = (("integration", "delivery_id"),)
        indexes = (("integration", "received_at"),)


class Task(Model):
    """A task (spec/tasks.md); ``TaskBoardActor`` is its only writer."""

    id = fields.CharField(primary_key=True, max_length=36)
    title = fields.CharField(max_length=200)
    body = fields.TextField()
    context_id = fields.CharField(max_length=64, db_index=True)
    reference_task_ids = fields.JSONField(default=list)
    depends_on = fields.JSONField(default=list)
    routing_hints = fields.JSONField(default=dict)
    # Its own column (and partial index, migration 0016): claim-next asks which preferred
    # agents are online.
    preferred_agent_id = fields.CharField(max_length=200, null=True)
    created_by = fields.CharField(max_length=200, db_index=True)
    assignee = fields.CharField(max_length=200, null=True, db_index=True)
    status = fields.CharField(max_length=16)
    status_message = fields.TextField(null=True)
    result = fields.JSONField(null=True)
    artifacts = fields.JSONField(default=list)
    attempt = fields.IntField(default=0)
    max_attempts = fields.IntField()
    lease_expires_at = fields.BigIntField(null=True)
    lease_ms = fields.BigIntField(default=0)
    version = fields.IntField(default=1)
    created_at = fields.BigIntField()
    updated_at = fields.BigIntField()

    class Meta:
        table = "tasks"
        indexes = (("status", "created_at"),)


class Automation(Model):
    """An automation; the one AutomationActor is its only writer (the unique name backs
    its check)."""

    id = fields.CharField(primary_key=True, max_length=64)
    name = fields.CharField(max_length=100, unique=True)
    enabled = fields.BooleanField(default=True)
    trigger = fields.JSONField(default=dict)
    action = fields.JSONField(default=dict)
    max_per_hour = fields.IntField(default=60)
    version = fields.IntField(default=1)
    next_run_at = fields.BigIntField(null=True)
    created_by = fields.CharField(max_length=200)
    created_at = fields.BigIntField()
    updated_at = fields.BigIntField()

    class Meta:
        table = "automations"


class AutomationDispatch(Model):
    """One ``AutomationDispatchResult``; the newest ``RELAY_AUTOMATION_DISPATCH_KEEP`` of
    each automation are kept."""

    id = fields.CharField(primary_key=True, max_length=64)
    automation_id = fields.CharField(max_length=64)
    trigger = fields.CharField(max_length=16)
    event_id = fields.CharField(max_length=64, null=True, db_index=True)
    status = fields.CharField(max_length=16)
    result = fields.JSONField(null=True)
    error = fields.TextField(null=True)
    at = fields.BigIntField()
    # The order they were recorded in (``at`` ties under one clock tick): newest first.
    seq = fields.BigIntField()

    class Meta:
        table = "automation_dispatches"
        indexes = (("automation_id", "seq"), ("at", "status"))


class Artifact(Model):
    """One upload. ``sha256`` names its blob, shared by every upload of the same bytes: so
    it is indexed, never unique."""

    id = fields.CharField(primary_key=True, max_length=64)
    sha256 = fields.CharField(max_length=64, db_index=True)
    size = fields.BigIntField()
    media_type = fields.CharField(max_length=255)
    name = fields.CharField(max_length=255)
    kind = fields.CharField(max_length=16)
    sensitivity = fields.CharField(max_length=16)
    created_by = fields.CharField(max_length=200)
    created_at = fields.BigIntField()
    created_by_agent = fields.BooleanField(default=False)

    class Meta:
        table = "artifacts"
        indexes = (("created_by", "created_at"),)


class ArtifactLink(Model):
    """Who holds an artifact: a message attaching it (``holder_kind`` ``message``), written
    with the message; a task's attachments are one more kind. Read to authorize secret
    artifacts."""

    id = fields.BigIntField(primary_key=True)
    artifact_id = fields.CharField(max_length=64)
    holder_kind = fields.CharField(max_length=16)
    holder_id = fields.CharField(max_length=64)

    class Meta:
        table = "artifact_links"
        unique_together = (("artifact_id", "holder_kind", "holder_id"),)
        indexes = (("holder_kind", "holder_id"),)


class Memory(Model):
    """A memory. ``search_text`` / ``search_tags`` are lower-cased copies written with it
    (title, body, tags joined by newlines; tags alone, newline-framed), so one plain
    ``LIKE`` matches the same rows on SQLite and PostgreSQL."""

    id = fields.CharField(primary_key=True, max_length=64)
    scope = fields.CharField(max_length=16)
    scope_key = fields.CharField(max_length=1024)
    type = fields.CharField(max_length=16)
    visibility = fields.CharField(max_length=16)
    sensitivity = fields.CharField(max_length=16)
    confidence = fields.CharField(max_length=16)
    redaction_state = fields.CharField(max_length=16)
    title = fields.TextField()
    body = fields.TextField()
    tags = fields.JSONField(default=list)
    source = fields.JSONField(null=True)
    created_by = fields.CharField(max_length=200)
    created_by_agent = fields.BooleanField(default=True)
    version = fields.IntField(default=1)
    serve_count = fields.IntField(default=0)
    last_served_at = fields.BigIntField(null=True)
    created_at = fields.BigIntField()
    updated_at = fields.BigIntField()
    search_text = fields.TextField()
    search_tags = fields.TextField()
    # The redaction list that left the stored text unchanged (migration 0015), or None.
    redaction_stamp = fields.CharField(max_length=32, null=True)

    class Meta:
        table = "memories"
        indexes = (("updated_at", "id"), ("scope", "scope_key"))
