"""The tools ``POST /mcp`` serves: one module per tool, each adding its ``TOOL`` here.

The message tools (``send_message``, ``reply``, ``fetch_inbox``, ``ack_messages``,
``list_channels``) join this list when their routes land.
"""

from __future__ import annotations

from relay.http.mcp import list_agents
from relay.http.mcp.tools import Tool

TOOLS: list[Tool] = [
    list_agents.TOOL,
]
