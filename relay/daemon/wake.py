"""``agent.wake``: tell an idle session that the relay holds something for it.

The relay queues a wake when a message lands in an empty inbox (``reason: "message"``)
or a task names the agent (``reason: "task"``). The daemon types one line into the
agent's tmux session and presses Enter, so the provider (Claude Code, Codex) reads it
as the user's next prompt and calls the relay's MCP tool.
"""

from __future__ import annotations

import re

from relay.daemon.context import Context
from relay.daemon.outcome import JSON, CommandFailed
from relay.daemon.sessions import find_session

REASONS = ("message", "task")
# The line is typed as the user's own prompt, or into a shell where a ``command`` provider
# runs one: a sender's id (any string a host registered) must not carry a sentence, a
# ``$(…)`` or a key press into it. Only the characters ids are made of pass; any run of
# others becomes one ``_``.
_NOT_ID = re.compile(r"[^A-Za-z0-9._:@/+-]+")
MAX_NAME = 200


def wake_line(params: JSON) -> str:
    """The line typed into the session, or ``CommandFailed`` for an unknown reason."""
    reason = params.get("reason", "message")
    sender = _name(params.get("from")) or "relay"
    if reason == "message":
        return f"[relay] new message from {sender}; use the relay fetch_inbox tool"
    if reason == "task":
        task_id = _name(params.get("taskId"))
        task = f"task {task_id}" if task_id else "task"
        return f"[relay] new {task} from {sender}; use the relay task_claim tool"
    raise CommandFailed(f"params.reason must be one of {', '.join(REASONS)}")


def _name(value: object) -> str:
    if not isinstance(value, str):
        return ""
    # Nor a leading ``@``: in Claude Code's prompt that mentions a file, attached unasked.
    return _NOT_ID.sub("_", value).lstrip("_@").rstrip("_")[:MAX_NAME]


async def wake(ctx: Context, params: JSON) -> JSON:
    """Type the wake line into the agent's session; a session that is gone fails the
    command with tmux's own error."""
    line = wake_line(params)
    name, _record = await find_session(ctx, params)
    if name is None:
        raise CommandFailed("no session named: give sessionName, tmuxSession or agentId")
    await ctx.tmux.send_text(name, line)
    return {
        "agentId": params.get("agentId"),
        "sessionName": name,
        "reason": params.get("reason", "message"),
        "typed": line,
    }
