"""Whether, and how, to wake an agent: the rule of messaging.md "Waking an agent".

A runner-managed agent sits in a tmux session waiting for its user; a message (or a
task) for it would wait unseen. The relay asks the agent's orchestrator, the one its card
is stored under (``orchestratorId``), to type a line into the session (``agent.wake``).
At most one wake per agent is unsettled at a time: one typed line is enough, however many
messages arrive before the agent looks.

Only the card's orchestrator is asked, never another one that lists the agent or its
session among its managed sessions: a wake types into a session on a host, and no caller
has said that host is the agent's. With the card's orchestrator offline, or none named,
no wake is queued and the message waits in the inbox.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from relay.actors.agent.action_rules import is_runner_managed
from relay.actors.commands.rules import open_about
from relay.domain.agents import AgentCard
from relay.domain.commands import Command, CommandSpec
from relay.domain.orchestrators import Orchestrator

WAKE = "agent.wake"
WakeReason = Literal["message", "task"]
WAKE_REASONS: tuple[WakeReason, ...] = ("message", "task")
WAKE_SOURCE = "relay"


@dataclass(frozen=True, slots=True)
class WakeRequest:
    """Why the agent is woken: the params the daemon shows (``from``) or passes on."""

    reason: WakeReason
    message_id: str | None = None
    sender: str | None = None
    importance: str = "normal"
    task_id: str | None = None


def session_name(card: AgentCard) -> str | None:
    """The tmux session the daemon registered the agent with (``meta.sessionName``, the
    same value as ``meta.tmuxSession``)."""
    for key in ("sessionName", "tmuxSession"):
        value = card.meta.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def stored_orchestrator(card: AgentCard, online: Iterable[Orchestrator]) -> Orchestrator | None:
    """The orchestrator the card is stored under (``orchestratorId``, matched on the
    orchestrator's id alone), if it is among ``online`` and online; else None."""
    named = card.orchestrator_id
    if named is None:
        return None
    return next((o for o in online if o.id == named and o.status == "online"), None)


def wake_orchestrator(
    card: AgentCard | None,
    online: Iterable[Orchestrator],
    unsettled: Iterable[Command],
    now: int,
) -> Orchestrator | None:
    """The orchestrator to queue ``agent.wake`` on, or None when no wake is due.

    Due when the agent is runner-managed with a known session, the orchestrator its card
    names is online (``stored_orchestrator``: never a stand-in that lists the agent), and
    no ``agent.wake`` about it is unsettled (``unsettled``: commands to check, on any
    orchestrator; one past its TTL counts as settled).
    """
    if card is None or not is_runner_managed(card) or session_name(card) is None:
        return None
    if open_about(unsettled, WAKE, card.id, now) is not None:
        return None
    return stored_orchestrator(card, online)


def wake_params(card: AgentCard, request: WakeRequest) -> dict[str, Any]:
    """``{agentId, sessionName, reason, messageId, from, importance}`` (+ ``taskId``)."""
    params: dict[str, Any] = {
        "agentId": card.id,
        "sessionName": session_name(card),
        "reason": request.reason,
        "messageId": request.message_id,
        "from": request.sender,
        "importance": request.importance,
    }
    if request.task_id is not None:
        params["taskId"] = request.task_id
    return params


def wake_spec(
    card: AgentCard, orchestrator: Orchestrator, request: WakeRequest, *, ttl_seconds: int
) -> CommandSpec:
    return CommandSpec(
        type=WAKE,
        target=orchestrator.id,
        target_kind="orchestrator",
        params=wake_params(card, request),
        source=WAKE_SOURCE,
        correlation_id=request.message_id or request.task_id,
        ttl_seconds=ttl_seconds,
    )
