"""Messaging: send, read and list, composing the conversation, inbox and channel
aggregates, and waking an agent (``relay.actors.agent.wake_agent``) on a first delivery.
"""

from relay.actors.messaging.events import MessageEvents
from relay.actors.messaging.flows import (
    check_in_conversation,
    resolve_sender,
    send,
    send_in_conversation,
)
from relay.actors.messaging.inputs import SendInput, Sent
from relay.actors.messaging.install import install
from relay.actors.messaging.reads import (
    acts_for_any,
    conversation_messages,
    readable_message,
    visible_deliveries,
)
from relay.actors.messaging.repeats import is_repeat

__all__ = [
    "MessageEvents",
    "SendInput",
    "Sent",
    "acts_for_any",
    "check_in_conversation",
    "conversation_messages",
    "install",
    "is_repeat",
    "readable_message",
    "resolve_sender",
    "send",
    "send_in_conversation",
    "visible_deliveries",
]
