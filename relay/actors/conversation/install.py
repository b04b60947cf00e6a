"""How the conversation aggregate plugs into the runtime."""

from __future__ import annotations

from relay.actors.conversation.actor import ConversationActor
from relay.actors.conversation.messages import KIND
from relay.actors.runtime import Runtime


def install(runtime: Runtime) -> None:
    """One ConversationActor per conversation: it owns the conversation's seq."""
    runtime.registry.register_kind(
        KIND, lambda key: ConversationActor.start(key, runtime), pooled=True
    )
