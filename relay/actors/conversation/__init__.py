"""The conversation aggregate: one ConversationActor per conversation, owning its seq and
the idempotency of sends into it."""

from relay.actors.conversation.actor import REUSED, ConversationActor
from relay.actors.conversation.flows import accept, accept_queued, committed
from relay.actors.conversation.install import install
from relay.actors.conversation.messages import KIND, Accept, Accepted

__all__ = [
    "KIND",
    "REUSED",
    "Accept",
    "Accepted",
    "ConversationActor",
    "accept",
    "accept_queued",
    "committed",
    "install",
]
