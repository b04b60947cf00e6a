"""``wake_agent``: queue ``agent.wake`` for a runner-managed agent, at most one unsettled.

Messaging calls it on the first delivery into an empty inbox, tasks when a task names
an agent. The rule is ``wake_rules.wake_orchestrator``: the wake goes only to the
orchestrator the agent's card is stored under, never to another that lists the agent. The
store's open commands are a first check that covers every orchestrator, and that
orchestrator's actor checks its own queue again at the moment it enqueues
(``EnqueueIfOnline(once_per_agent=True)``), so two first deliveries at once queue one wake.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from relay.actors.agent.action_rules import is_runner_managed
from relay.actors.agent.wake_rules import (
    WAKE,
    WakeReason,
    WakeRequest,
    wake_orchestrator,
    wake_spec,
)
from relay.actors.commands.rules import new_command_id
from relay.actors.orchestrator import KIND as ORCHESTRATOR
from relay.actors.orchestrator import EnqueueIfOnline
from relay.actors.runtime.context import Runtime
from relay.domain.agents import AgentCard
from relay.domain.commands import Command
from relay.errors import Conflict, NotFound
from relay.store import agents as agent_store
from relay.store import commands as command_store
from relay.store import orchestrators as orchestrator_store

log = logging.getLogger("relay.actors.agent.wake")


async def wake_agent(
    rt: Runtime,
    agent_id: str,
    reason: WakeReason,
    *,
    message_id: str | None = None,
    sender: str | None = None,
    importance: str = "normal",
    task_id: str | None = None,
    card: AgentCard | None = None,
) -> Command | None:
    """Queue ``agent.wake`` on the orchestrator the agent's card names; the command, or
    None when no wake is due (not runner-managed, no orchestrator on the card, that one
    not online, one already unsettled).

    The caller's own change is committed before this runs: a wake is a courtesy, so
    refusals are None, never errors. Raises only what the store or an actor raises when
    it does not answer (``Unavailable``). ``card`` spares the read of a card the caller
    has just read.
    """
    if card is None:
        card = await rt.store.run(lambda: agent_store.load(agent_id))
    if card is None or not is_runner_managed(card) or card.orchestrator_id is None:
        return None  # the common case, answered without reading orchestrators or commands
    online = await rt.store.run(lambda: orchestrator_store.list_all(status="online"))
    unsettled = await rt.store.run(lambda: command_store.open_about(agent_id, WAKE))
    orch = wake_orchestrator(card, online, unsettled, rt.clock.now_ms())
    if orch is None:
        return None
    request = WakeRequest(reason, message_id, sender, importance, task_id)
    spec = replace(
        wake_spec(card, orch, request, ttl_seconds=rt.settings.wake_ttl_seconds),
        id=new_command_id(),
    )
    message = EnqueueIfOnline(spec, once_per_agent=True)
    try:
        command = await rt.registry.ask(ORCHESTRATOR, orch.id, message)
    except (Conflict, NotFound):
        return None  # the orchestrator went offline (or away) since we read it
    if command.id != spec.id:
        return None  # another first delivery queued one a moment ago
    log.info("agent_wake_queued agent=%s orchestrator=%s reason=%s", agent_id, orch.id, reason)
    return command
