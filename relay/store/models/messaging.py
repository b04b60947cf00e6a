"""tortoise models: messages, their deliveries and the conversations they belong to."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

__all__ = ["Conversation", "Delivery", "Message"]


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
