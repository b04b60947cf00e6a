"""The tools ``POST /mcp`` serves: one module per tool (or pair of tools), each adding its
``Tool`` here."""

from __future__ import annotations

from relay.http.mcp import (
    artifacts,
    channels,
    inbox,
    list_agents,
    memory,
    memory_context,
    messages,
    pairs,
    tasks,
)
from relay.http.mcp.tools import Tool

TOOLS: list[Tool] = [
    messages.SEND_MESSAGE,
    messages.REPLY,
    inbox.FETCH_INBOX,
    inbox.ACK_MESSAGES,
    channels.TOOL,
    list_agents.TOOL,
    pairs.TOOL,
    artifacts.TOOL,
    tasks.TASK_CLAIM,
    tasks.TASK_UPDATE,
    tasks.TASK_CREATE,
    memory.WRITE,
    memory.SEARCH,
    memory_context.TOOL,
]
