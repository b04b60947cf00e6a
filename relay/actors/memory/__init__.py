"""Memories: one ``MemoryActor`` per memory owns its versions; redaction and visibility
are pure rules every route, the MCP tools and the broker share."""

from relay.actors.memory import redaction, rules, search, visibility
from relay.actors.memory.actor import MemoryActor
from relay.actors.memory.flows import (
    create,
    delete,
    find,
    load,
    memory_rescan,
    redactor,
    shown,
    update,
)
from relay.actors.memory.install import install
from relay.actors.memory.messages import KIND, Create, Delete, Rescan, Update, Written
from relay.actors.memory.redaction import Redactor, redact

__all__ = [
    "KIND",
    "Create",
    "Delete",
    "MemoryActor",
    "Redactor",
    "Rescan",
    "Update",
    "Written",
    "create",
    "delete",
    "find",
    "install",
    "load",
    "memory_rescan",
    "redact",
    "redaction",
    "redactor",
    "rules",
    "search",
    "shown",
    "update",
    "visibility",
]
