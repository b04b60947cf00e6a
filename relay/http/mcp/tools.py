"""What an MCP tool is, and the table of them the server lists and calls.

A tool is its HTTP route seen from one agent: the same argument names and validation
(a ``Body`` model, whose JSON schema is the tool's ``inputSchema``), the same scope,
the same flow and authorization. The caller is the agent the MCP token is bound to,
never an argument.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from relay.http.validation import Body

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    scope: str  # the scope its HTTP route requires
    arguments: type[Body]
    # (the caller's agent id, the validated arguments) → the route's JSON object; raises
    # RelayError with exactly the HTTP error message.
    run: Callable[[str, Any], Awaitable[JSON]]

    def input_schema(self) -> JSON:
        schema = self.arguments.model_json_schema(by_alias=True)
        schema.pop("title", None)
        return schema


def by_name(tools: list[Tool]) -> dict[str, Tool]:
    table = {tool.name: tool for tool in tools}
    if len(table) != len(tools):
        raise ValueError("two MCP tools share a name")
    return table
