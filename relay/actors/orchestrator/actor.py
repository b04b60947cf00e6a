"""OrchestratorActor: the only writer of one orchestrator and of its command queue."""

from __future__ import annotations

import concurrent.futures
from dataclasses import replace
from typing import Any

from relay.actors.commands.messages import Enqueue
from relay.actors.commands.target import TargetActor
from relay.actors.orchestrator import rules as rules_orchestrator
from relay.actors.orchestrator.messages import (
    KIND,
    EnqueueIfOnline,
    Heartbeat,
    Reap,
    Register,
    ReportAgents,
)
from relay.actors.runtime.audit import Change
from relay.actors.runtime.bridge import Durable
from relay.actors.runtime.dispatch import dispatchmethod
from relay.actors.runtime.reaping import presence_after_silence
from relay.domain.orchestrators import Orchestrator
from relay.errors import Conflict, NotFound
from relay.store import orchestrators as orchestrator_store


class OrchestratorActor(TargetActor):
    kind = KIND
    target_kind = "orchestrator"

    orch: Orchestrator | None = None

    def load(self) -> None:
        self.orch = self.read_through_queue(lambda: orchestrator_store.load(self.key))

    def is_empty(self) -> bool:
        return self.orch is None

    def require_exists(self) -> None:
        self._require()

    def _require(self) -> Orchestrator:
        if self.orch is None:
            raise NotFound("orchestrator not found")
        return self.orch

    def _now(self) -> int:
        return self.rt.clock.now_ms()

    @staticmethod
    def _change(change: str, orch: Orchestrator) -> Change:
        return Change(
            "orchestrator", {"change": change, "orchestrator": orch.to_json()}, view="orchestrators"
        )

    @dispatchmethod
    def handle(self, message: Any) -> Any:
        raise TypeError(f"OrchestratorActor cannot handle {message!r}")

    @handle.register
    def _register(self, message: Register) -> Durable[tuple[Orchestrator, bool]]:
        created = self.orch is None
        orch = rules_orchestrator.register_orchestrator(
            self.orch, message.registration, self._now()
        )
        self.orch = orch
        commit = self.write_changed(
            lambda: orchestrator_store.insert(orch) if created else orchestrator_store.update(orch),
            [self._change("registered" if created else "updated", orch)],
        )
        routing = self.rt.routing

        def recorded(done: concurrent.futures.Future[Any]) -> None:
            # On the store's thread, as each write commits, so in commit order: the baseDir
            # ``is_target`` judges is the stored one, even when two registrations race or
            # the caller's wait timed out before this commit.
            if done.exception() is None:
                routing.orchestrator_registered(orch.id, orch.base_dir)

        commit.add_done_callback(recorded)
        return Durable((orch, created), commit)

    @handle.register
    def _heartbeat(self, message: Heartbeat) -> Durable[Orchestrator]:
        previous = self._require()
        orch = rules_orchestrator.heartbeat(
            previous, self._now(), managed_agents=message.managed_agents, runtime=message.runtime
        )
        self.orch = orch
        changes = []
        if previous.status != orch.status or previous.managed_agents != orch.managed_agents:
            changes.append(
                self._change("status" if previous.status != orch.status else "updated", orch)
            )
        if message.managed_agents is None and message.runtime is None:
            commit = self.write_changed(
                lambda: orchestrator_store.touch(orch.id, orch.status, orch.last_heartbeat_at),
                changes,
            )
        else:
            commit = self.write_changed(lambda: orchestrator_store.update(orch), changes)
        self.rt.events.presence.orchestrator_seen(orch.id, orch.last_heartbeat_at)
        return Durable(orch, commit)

    @handle.register
    def _report(self, message: ReportAgents) -> Durable[Orchestrator]:
        orch = replace(self._require(), managed_agents=message.managed_agents)
        self.orch = orch
        commit = self.write_changed(
            lambda: orchestrator_store.update(orch), [self._change("updated", orch)]
        )
        return Durable(orch, commit)

    @handle.register
    def _enqueue_if_online(self, message: EnqueueIfOnline) -> Any:
        if self._require().status != "online":
            raise Conflict(message.offline_message)
        assert self.queue is not None
        agent_id = message.spec.params.get("agentId")
        if message.once_per_agent and isinstance(agent_id, str):
            already = self.queue.open_about(message.spec.type, agent_id)
            if already is not None:
                return already
        return self.queue.handle(Enqueue(message.spec, message.audits))

    @handle.register
    def _reap(self, _message: Reap) -> Durable[Orchestrator] | None:
        orch = self.orch
        if orch is None:
            return None
        settings = self.rt.settings
        status = presence_after_silence(
            orch.status,
            orch.last_heartbeat_at,
            self._now(),
            stale_after_s=settings.orchestrator_stale_seconds,
            offline_after_s=settings.orchestrator_offline_seconds,
        )
        if status == orch.status:
            return None
        reaped = replace(orch, status=status)
        self.orch = reaped
        commit = self.write_changed(
            lambda: orchestrator_store.touch(reaped.id, status, reaped.last_heartbeat_at),
            [self._change("status", reaped)],
        )
        return Durable(reaped, commit)
