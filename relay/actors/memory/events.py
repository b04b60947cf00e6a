"""Which ``memory`` events a stream subscriber receives (spec/memory.md, "Events").

An event carries the memory without its body (and without the title of a ``secret`` one)
and enough of its shape for the visibility rules: a subscriber receives it only if
``visibility.sees`` lets it see that memory, live and on replay alike — judged, as the
routes judge it, on where the agents it acts for are stored when the event is sent (from
the agents' actors' memory, ``ActingGuard``), not when the stream opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from relay.actors.memory import rules
from relay.actors.memory.acting import acts_for_memory, counts_by_place
from relay.actors.memory.redaction import Redactor
from relay.actors.memory.visibility import judging, sees
from relay.actors.runtime.acting_guard import ActingGuard
from relay.actors.runtime.directory import AgentDirectory
from relay.auth.access import Principal
from relay.domain.memory import Memory, Source, Viewer
from relay.store.stream import StreamEvent

EVENT = "memory"


def _shape(data: Any) -> Memory | None:
    """What the visibility rules read of the event's memory; None for an event without it
    (a withheld notice stored before events carried it)."""
    item = data.get("memory") if isinstance(data, dict) else None
    if not isinstance(item, dict):
        return None
    try:
        return Memory(
            id=str(item["id"]),
            scope=item["scope"],
            scope_key=str(item["scopeKey"]),
            type=item["type"],
            visibility=item["visibility"],
            sensitivity=item["sensitivity"],
            confidence=item["confidence"],
            redaction_state=item["redactionState"],
            title="",
            body="",
            tags=(),
            source=None,
            created_by=str(item["createdBy"]),
            created_by_agent=bool(item["createdByAgent"]),
            version=0,
            serve_count=0,
            last_served_at=None,
            created_at=0,
            updated_at=0,
        )
    except KeyError:
        return None


_NO_ONE = Viewer(operator=False)


@dataclass(frozen=True, slots=True)
class MemoryEvents(ActingGuard):
    """A stream's guard (``relay.events.EventGuard``) for a caller that is no unconstrained
    operator (``for_viewer``): a ``memory`` event passes if the caller sees its memory
    (``visibility.sees``), with whom it acts for judged per event where memory holds each
    agent stored (``visibility.judging``: an agent moved away from the caller's
    orchestrator since the stream opened no longer counts; ``opened`` keeps the rest of
    the caller's Viewer: its ``cwd`` and the creator it may claim). Other events pass;
    then ``then`` decides."""

    opened: Viewer = _NO_ONE

    @classmethod
    def for_viewer(
        cls, caller: Principal, viewer: Viewer, agents: AgentDirectory
    ) -> MemoryEvents | None:
        """The guard for ``caller`` resolved as ``viewer`` (its agents may be none yet):
        none for an operator's Viewer, which sees every memory."""
        if viewer.operator:
            return None
        constraints = tuple(sorted((k, tuple(v)) for k, v in caller.constraints.items()))
        return cls(caller.sub, caller.role, constraints, agents, None, viewer)

    def admits(self, event: StreamEvent) -> bool:
        if event.event == EVENT and not self._sees(event):
            return False
        return self.then is None or self.then.admits(event)

    def _sees(self, event: StreamEvent) -> bool:
        memory = _shape(event.data)
        if memory is None:
            return False
        return sees(judging(self.opened, memory, self._acts_for, self._candidates()), memory)

    def _acts_for(self, agent_id: str) -> bool:
        """``acts_for_memory`` (the routes' rule) where memory holds the agent stored. One
        memory does not hold (its start-up read failed: a miss says nothing) is judged as
        the stream's opening judged it, from the store."""
        facts = self.agents.known([agent_id])[0].get(agent_id)
        if facts is None:
            return agent_id in self.opened.agents
        return acts_for_memory(self._caller, agent_id, facts.placement)

    def _candidates(self) -> Iterator[str]:
        """The agents that may be the caller's, lazily, likeliest first: those it acted for
        when the stream opened, those it names, then (only for a caller that acts for
        agents by where they are stored, and only when none of those answers) those stored
        under its orchestrators, or for one limited by paths alone every agent memory
        holds."""
        yield from self.opened.agents
        constraints = self._caller.constraints
        yield from constraints.get("agents", ())
        if not counts_by_place(self._caller):
            return
        hosts = constraints.get("orchestrators")
        yield from self.agents.ids() if hosts is None else self.agents.hosted_by(hosts)


def replayed(event: StreamEvent, redactor: Redactor) -> StreamEvent:
    """A stored ``memory`` event as the current list shows it (spec: on output, SSE
    included, the current list is applied again). A live event was built with the list of
    its time, which is the current one; a replayed one may predate a pattern added since.
    Other events, and memory events the list leaves alone, are returned as they are."""
    item = event.data.get("memory") if event.event == EVENT else None
    if not isinstance(item, dict):
        return event
    title, tags, source = item.get("title"), item.get("tags"), item.get("source")
    tags = [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
    ref = source.get("ref") if isinstance(source, dict) else None
    # Its kind is not redacted: only the ref is read (and written back below).
    stored = Source(kind="manual", ref=ref) if isinstance(ref, str) else None
    # The fields ``rules.for_output`` redacts on every other output, as it redacts them.
    new_title, _body, new_tags, new_source, found = rules.redact_fields(
        title if isinstance(title, str) else "", "", tuple(tags), stored, redactor
    )
    if not found:
        return event
    shown = {**item, "tags": list(new_tags)}
    if isinstance(title, str):  # a secret memory's event carries none
        shown["title"] = new_title
    if isinstance(source, dict) and new_source is not None:
        shown["source"] = {**source, "ref": new_source.ref}
    shown["redactionState"] = rules.output_state(item.get("redactionState"))
    return replace(event, data={**event.data, "memory": shown})
