"""``memory_context``: the memory broker for the caller's own agent, as
``POST /api/memory/broker`` with ``agentId`` = the token's agent (spec/memory.md).

The runner types an instruction to call it after a compact (``params.memoryReload``), so
the agent's pinned memories come back within the budget.
"""

from __future__ import annotations

from pydantic import Field

from relay.actors.memory.broker_rules import QUERY_MAX
from relay.http.mcp.tools import JSON, Tool
from relay.http.memory_broker import REPO_ROOT_MAX, BudgetBody, broker_context
from relay.http.validation import Body


class MemoryContextArguments(Body):
    query: str | None = Field(default=None, max_length=QUERY_MAX)
    repo_root: str | None = Field(default=None, min_length=1, max_length=REPO_ROOT_MAX)
    max_chars: int | None = Field(default=None, ge=200, le=200_000)
    max_items: int | None = Field(default=None, ge=1, le=100)


async def context(caller: str, arguments: MemoryContextArguments) -> JSON:
    return await broker_context(
        caller,
        query=arguments.query,
        repo_root=arguments.repo_root,
        budget=BudgetBody(max_chars=arguments.max_chars, max_items=arguments.max_items),
    )


TOOL = Tool(
    name="memory_context",
    description=(
        "What you should keep in mind now: your pinned memories (your memory-reload:T tags)"
        " first, then the ones matching query (any of its words), from your own, your"
        " repositories' (repoRoot, else your workspaces') and global memories, within"
        " maxChars (default 8000) and maxItems (default 20). Call it after a compact."
    ),
    scope="memory:read",
    arguments=MemoryContextArguments,
    run=context,
)
