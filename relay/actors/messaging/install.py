"""How messaging plugs into the runtime: nothing of its own to run (its aggregates,
``conversation`` and ``inbox``, install themselves)."""

from __future__ import annotations

from relay.actors.runtime import Runtime


def install(runtime: Runtime) -> None:
    """Messaging owns no actor: its flows compose conversations and inboxes."""
