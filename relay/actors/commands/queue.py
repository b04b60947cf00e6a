"""The command queue an actor owns for its target (an orchestrator or an agent).

It lives inside the owning actor and runs on its thread, so every change to a
target's commands is serialized by that actor. Open commands are kept in
memory (loaded lazily from the store); settled ones are read back on demand.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from relay.actors.commands import audit as command_audit
from relay.actors.commands.messages import (
    Enqueue,
    ExpireDue,
    Handout,
    Poll,
    UpdateStatus,
)
from relay.actors.commands.rules import (
    apply_status,
    check_transition,
    deliver,
    deliverable,
    is_expired,
    new_command,
    next_wake,
    open_about,
)
from relay.actors.runtime.audit import Change, write_with_audit
from relay.actors.runtime.bridge import Durable
from relay.actors.runtime.context import Runtime
from relay.domain.activity import ActivityInput
from relay.domain.commands import Command, CommandSpec, Settlement, TargetKind
from relay.errors import NotFound
from relay.store import commands as command_store

T = TypeVar("T")
Write = Callable[[Callable[[], Awaitable[T]]], concurrent.futures.Future[T]]


class CommandQueue:
    def __init__(self, target: str, kind: TargetKind, rt: Runtime, write: Write[Any]) -> None:
        self.target = target
        self.kind = kind
        self.rt = rt
        self._write = write
        self._open: dict[str, Command] | None = None

    def _commands(self) -> dict[str, Command]:
        if self._open is None:
            rows = self.rt.store.call(lambda: command_store.open_for(self.target), write=True)
            self._open = {command.id: command for command in rows}
            for command in rows:
                self.rt.routing.command_opened(command)
        return self._open

    def reset(self) -> None:
        self._open = None

    def open_about(self, type_: str, agent_id: str) -> Command | None:
        """An open command of ``type_`` about ``agent_id`` in this queue (``rules.open_about``).

        Asked on the owning actor's thread, so nothing can be queued between this answer
        and an ``Enqueue`` that the same handler makes next.
        """
        return open_about(self._commands().values(), type_, agent_id, self._now())

    def handle(self, message: object) -> Any:
        if isinstance(message, Enqueue):
            return self._enqueue(message.spec, message.audits)
        if isinstance(message, Poll):
            return self._poll(message.limit)
        if isinstance(message, UpdateStatus):
            return self._update(message)
        if isinstance(message, ExpireDue):
            return self._expire()
        raise TypeError(f"not a queue message: {message!r}")

    def _now(self) -> int:
        return self.rt.clock.now_ms()

    def _enqueue(
        self, spec: CommandSpec, audits: tuple[ActivityInput, ...] = ()
    ) -> Durable[Command]:
        command = new_command(spec, self._now())
        self._commands()[command.id] = command
        commit = write_with_audit(
            self.rt,
            self._write,
            lambda: command_store.insert(command),
            audits=[command_audit.queued(command), *audits],
            changes=[_change("created", command)],
        )
        commit.add_done_callback(lambda done: self._announce(done, command))
        return Durable(command, commit)

    def _announce(self, done: concurrent.futures.Future[Any], command: Command) -> None:
        # Ring only once the command is durable: a poller must never be handed a command
        # that a crash could still take back.
        if done.exception() is None:
            self.rt.routing.command_opened(command)
            self.rt.doorbells.ring(self.target)

    def _settle(self, command: Command) -> Command:
        """Take a command that just settled out of the open set (and the routing table).

        With no hooks for its type, its effects are complete now: the settling commit
        (``_save_settled``) marks them.
        """
        self._commands().pop(command.id, None)
        self.rt.routing.command_settled(command.id)
        if self.rt.settle_hooks.for_type(command.type):
            return command
        return replace(command, effects_applied=True)

    def _save_settled(self, settled: list[Command]) -> concurrent.futures.Future[Any]:
        """Write settled commands with their audit and stream events, in one commit."""
        return write_with_audit(
            self.rt,
            self._write,
            lambda: command_store.save_many(settled),
            audits=[command_audit.settled(command) for command in settled],
            changes=[_change("settled", command) for command in settled],
        )

    def _poll(self, limit: int) -> Durable[Handout] | Handout:
        now = self._now()
        expired = self._expire_due(now)
        commands = self._commands()
        ack_ms = int(self.rt.settings.command_ack_timeout_seconds * 1000)
        handed: list[Command] = []
        for command in list(commands.values()):
            if len(handed) >= limit:
                break
            if deliverable(command, now):
                delivered = deliver(command, now, ack_ms)
                commands[command.id] = delivered
                handed.append(delivered)
        delivery = Handout(handed, next_wake(list(commands.values())), expired)
        commit = self._save_settled(expired) if expired else None
        if handed:
            # Handed out without waiting for this write: marking a delivery durable protects
            # nothing. Were the relay to die before it commits, the command comes back
            # queued and is delivered again, just as a delivered, unacknowledged one would
            # be; at-least-once either way (``attempts`` then counts one delivery fewer).
            # Writes commit in order, so a status the target reports next lands after it.
            # The page follows an action's command from queued to settled: the hand-out
            # is a step it shows, published with the write that records it.
            write_with_audit(
                self.rt,
                self._write,
                lambda: command_store.save_many(handed),
                changes=[_change("delivered", command) for command in handed],
            )
        if commit is None:
            return delivery
        return Durable(delivery, commit)

    def _update(self, message: UpdateStatus) -> Durable[Settlement]:
        commands = self._commands()
        current = commands.get(message.command_id)
        if current is None:
            stored = self.rt.store.call(lambda: command_store.load(message.command_id), write=True)
            if stored is None or stored.target != self.target:
                raise NotFound("command not found")
            current = stored
        now = self._now()
        if is_expired(current, now):
            # Past its TTL, however long ago a poll or the job last looked: it expires now,
            # as they would have expired it, and ``flows.update`` refuses the late report.
            expired = self._expired(current, now)
            return Durable(Settlement(expired, settled_now=True), self._save_settled([expired]))
        verdict = check_transition(current.status, message.status)
        if verdict == "repeat":
            # Answer only once the first settle is durable: a barrier behind it in the queue.
            return Durable(Settlement(current, settled_now=False), self._write(_nothing))
        updated = apply_status(
            current, message.status, now, result=message.result, error=message.error
        )
        commit: concurrent.futures.Future[Any]
        if updated.settled:
            updated = self._settle(updated)
            commit = self._save_settled([updated])
        else:
            commands[updated.id] = updated
            commit = write_with_audit(
                self.rt,
                self._write,
                lambda: command_store.save(updated),
                changes=[_change(updated.status, updated)],
            )
        return Durable(Settlement(updated, settled_now=updated.settled), commit)

    def _expire(self) -> Durable[list[Command]] | list[Command]:
        now = self._now()
        expired = self._expire_due(now)
        if any(deliverable(command, now) for command in self._commands().values()):
            self.rt.doorbells.ring(self.target)  # unacknowledged ones are due again
        if not expired:
            return expired
        return Durable(expired, self._save_settled(expired))

    def _expire_due(self, now: int) -> list[Command]:
        """Settle every command past its TTL as ``expired`` (the caller writes them)."""
        due = [command for command in self._commands().values() if is_expired(command, now)]
        return [self._expired(command, now) for command in due]

    def _expired(self, command: Command, now: int) -> Command:
        return self._settle(
            apply_status(
                command, "expired", now, error="command expired before it was acknowledged"
            )
        )


def _change(change: str, command: Command) -> Change:
    return Change("command", {"change": change, "command": command.to_json()})


async def _nothing() -> None:
    return None
