"""MemoryActor: the only writer of one memory, so its version moves one write at a time.

``If-Match`` is decided here, against the version this actor holds at the moment of the
write: of concurrent PATCHes naming one version exactly one is applied. So is who may
update or delete (``visibility.authorize`` on that same version): a change of scope,
creator or visibility that lands first is seen by every write queued after it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from relay.actors.memory import rules, visibility
from relay.actors.memory.messages import KIND, Create, Delete, Rescan, Update, Written
from relay.actors.memory.redaction import Redactor
from relay.actors.runtime.aggregate import AggregateActor
from relay.actors.runtime.audit import Change, write_with_audit
from relay.actors.runtime.bridge import Durable
from relay.actors.runtime.dispatch import dispatchmethod
from relay.actors.runtime.pool import PooledActor
from relay.domain.activity import ActivityInput
from relay.domain.memory import Memory, MemoryChange, Redaction
from relay.errors import Conflict, Forbidden, NotFound
from relay.store import memory as memory_store


class MemoryActor(PooledActor, AggregateActor):
    kind = KIND

    memory: Memory | None = None

    def load(self) -> None:
        self.memory = self.read_through_queue(lambda: memory_store.load_memory(self.key))

    def is_empty(self) -> bool:
        return self.memory is None

    def redactor(self) -> Redactor:
        return rules.redactor_for(self.rt.credentials, self.rt.settings.memory_redact_patterns)

    def _stamp(self, memory: Memory) -> str | None:
        """The current list's stamp if it leaves ``memory``'s text as stored."""
        current = self.redactor()
        return current.stamp if rules.for_output(memory, current) is memory else None

    def _current(self) -> Memory:
        if self.memory is None:
            raise NotFound(rules.NOT_FOUND)
        return self.memory

    def _commit(
        self,
        job: Any,
        change: MemoryChange,
        memory: Memory,
        redactions: tuple[Redaction, ...] = (),
    ) -> Any:
        shown = rules.for_output(memory, self.redactor())
        changes = [
            Change(
                "memory",
                rules.event_data(change, shown),
                view=rules.MEMORY_VIEW,
                agent_id=rules.event_agent(memory),
            )
        ]
        audits: list[ActivityInput] = []
        if redactions:
            audits.append(rules.redacted_audit(memory, redactions))
        return write_with_audit(self.rt, self.write, job, audits=audits, changes=changes)

    @dispatchmethod
    def handle(self, message: Any) -> Any:
        raise TypeError(f"MemoryActor cannot handle {message!r}")

    @handle.register
    def _create(self, message: Create) -> Durable[Written]:
        if self.memory is not None:
            raise Conflict("memory already exists")
        memory, redactions = rules.created(
            message.input,
            memory_id=self.key,
            created_by=message.created_by,
            created_by_agent=message.created_by_agent,
            now=self.rt.clock.now_ms(),
            redactor=self.redactor(),
        )
        self.memory = memory
        stamp = self._stamp(memory)
        commit = self._commit(
            lambda: memory_store.insert_memory(memory, stamp), "created", memory, redactions
        )
        return Durable(Written(memory, redactions), commit)

    @handle.register
    def _update(self, message: Update) -> Durable[Written]:
        current = self._current()
        # Judged on the version this write replaces: nothing read earlier decides it.
        visibility.authorize(message.viewer, "change", current)
        patch = message.patch
        if patch.redaction_state is not None and not visibility.may_set_redaction_state(
            message.viewer
        ):
            raise Forbidden("forbidden")
        if patch.sensitivity is not None and not visibility.may_set_sensitivity(
            message.viewer, current, patch.sensitivity
        ):
            raise Forbidden("forbidden")
        rules.check_version(current, message.if_match)
        # The broker counts servings in the store alone: the reply and its event show
        # them as stored, not as this copy was loaded.
        served, last_served_at = self.read_through_queue(
            lambda: memory_store.serving_of(current.id)
        )
        current = replace(current, serve_count=served, last_served_at=last_served_at)
        memory, redactions = rules.patched(
            current, message.patch, now=self.rt.clock.now_ms(), redactor=self.redactor()
        )
        self.memory = memory
        stamp = self._stamp(memory)
        commit = self._commit(
            lambda: memory_store.update_memory(memory, stamp), "updated", memory, redactions
        )
        return Durable(Written(memory, redactions), commit)

    @handle.register
    def _delete(self, message: Delete) -> Durable[Memory]:
        current = self._current()
        visibility.authorize(message.viewer, "change", current)
        rules.check_version(current, message.if_match)
        self.memory = None
        commit = self._commit(lambda: memory_store.delete_memory(current.id), "deleted", current)
        return Durable(current, commit)

    @handle.register
    def _rescan(self, message: Rescan) -> Durable[Written | None] | Written | None:
        if self.memory is None:
            return None
        outcome = rules.rescanned(self.memory, now=self.rt.clock.now_ms(), redactor=self.redactor())
        if outcome is None:
            return None
        memory, redactions = outcome
        self.memory = memory
        stamp = self._stamp(memory)
        commit = self._commit(
            lambda: memory_store.update_memory(memory, stamp), "updated", memory, redactions
        )
        written: Written | None = Written(memory, redactions)
        return Durable(written, commit)
