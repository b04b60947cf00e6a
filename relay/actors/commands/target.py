"""The base of actors that are command targets: they own their target's command queue."""

from __future__ import annotations

from typing import Any, ClassVar

from relay.actors.commands.messages import QUEUE_MESSAGES
from relay.actors.commands.queue import CommandQueue
from relay.actors.runtime.aggregate import AggregateActor
from relay.actors.runtime.context import Runtime
from relay.domain.commands import TargetKind


class TargetActor(AggregateActor):
    """An aggregate that commands are addressed to (an orchestrator, an agent).

    Its registry kind is its ``TargetKind``, so the command flows reach a target's queue
    from the command alone, without knowing the aggregate's package.
    """

    target_kind: ClassVar[TargetKind]

    def __init__(self, key: str, runtime: Runtime) -> None:
        super().__init__(key, runtime)
        self.queue: CommandQueue | None = CommandQueue(key, self.target_kind, runtime, self.write)

    def route(self, message: Any) -> Any:
        if isinstance(message, QUEUE_MESSAGES):
            self.require_exists()
            assert self.queue is not None  # only let go of once stopped
            return self.queue.handle(message)
        return super().route(message)

    def reloaded(self) -> None:
        if self.queue is not None:
            self.queue.reset()

    def let_go(self) -> None:
        # The queue holds our bound ``write``: drop it with the actor.
        self.queue = None
