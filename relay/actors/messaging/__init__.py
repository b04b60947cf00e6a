"""Messaging: send, read and list, composing the conversation and inbox aggregates.

``hooks.channel_targets`` and ``hooks.on_first_delivery`` are where channels and waking
an agent plug in.
"""

from relay.actors.messaging import hooks
from relay.actors.messaging.flows import (
    SendInput,
    Sent,
    acts_for_any,
    conversation_messages,
    readable_message,
    send,
    visible_deliveries,
)
from relay.actors.messaging.install import install

__all__ = [
    "SendInput",
    "Sent",
    "acts_for_any",
    "conversation_messages",
    "hooks",
    "install",
    "readable_message",
    "send",
    "visible_deliveries",
]
