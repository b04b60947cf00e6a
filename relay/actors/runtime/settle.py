"""Settle hooks: the effects of a command's outcome, run exactly once per settle.

A command's status changes inside its target's actor, one message at a time, so
exactly one update performs the settle (a retried or raced PATCH is answered as
a repeat). The trio caller that performed it runs the hooks registered for the
command's type, then marks the command's effects applied. If the relay stops
in between, the command-effects maintenance job runs the hooks of settled
commands whose effects were never marked: hooks are written to be idempotent
(release *this* command's lease, move the workspace only from the expected
status), so that recovery cannot double an effect.

The audit event of a settle is not a hook: the actor writes it in the settling commit
itself, and for a type with no hooks it marks the effects applied in that commit too.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from relay.domain.commands import Command
from relay.store import commands as command_store

if TYPE_CHECKING:
    from relay.actors.runtime.context import Runtime

log = logging.getLogger("relay.commands")

Hook = Callable[["Runtime", Command], Awaitable[None]]
ANY_TYPE = "*"


class SettleHooks:
    def __init__(self) -> None:
        self._hooks: dict[str, list[Hook]] = {}

    def register(self, command_type: str, hook: Hook) -> None:
        """Run ``hook`` whenever a command of ``command_type`` (or ``"*"``: any) settles."""
        self._hooks.setdefault(command_type, []).append(hook)

    def for_type(self, command_type: str) -> list[Hook]:
        return [*self._hooks.get(command_type, ()), *self._hooks.get(ANY_TYPE, ())]

    async def run(self, rt: Runtime, command: Command) -> bool:
        """Run the command's hooks; mark its effects applied if all of them succeeded."""
        ok = True
        for hook in self.for_type(command.type):
            try:
                await hook(rt, command)
            except Exception as exc:
                ok = False
                log.exception(
                    "settle_hook_failed command=%s type=%s hook=%s error=%r",
                    command.id,
                    command.type,
                    getattr(hook, "__name__", hook),
                    exc,
                )
        # A command whose type has no hooks was marked when it settled (in that commit).
        if ok and not command.effects_applied:
            await rt.store.write(lambda: command_store.mark_effects_applied(command.id))
        return ok
