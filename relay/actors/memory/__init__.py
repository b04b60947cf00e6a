"""Memories: one ``MemoryActor`` per memory owns its versions; redaction and visibility
are pure rules every route, the MCP tools and the broker share."""

from relay.actors.memory import redaction, visibility
from relay.actors.memory.redaction import Redactor, redact

__all__ = ["Redactor", "redact", "redaction", "visibility"]
