"""Settle hooks: the effects of a command's outcome, run exactly once per settle.

A command's status changes inside its target's actor, one message at a time, so
exactly one update performs the settle (a retried or raced PATCH is answered as
a repeat). The trio caller that performed it runs the hooks registered for the
command's type, then marks the command's effects applied. A repeated report of a
settle whose effects are not marked yet waits for (or, after a restart, runs) the
same hooks, so its 200 too means the effects are in place. If the relay stops in
between, the next start runs the hooks of settled commands whose effects were
never marked (and the command-effects maintenance job, any left after a failure):
hooks are written to be idempotent
(release *this* command's lease, move the workspace only from the expected
status), so that recovery cannot double an effect.

The audit event of a settle is not a hook: the actor writes it in the settling commit
itself, and for a type with no hooks it marks the effects applied in that commit too.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import trio

from relay.domain.commands import Command
from relay.store import commands as command_store

if TYPE_CHECKING:
    from relay.actors.runtime.context import Runtime

log = logging.getLogger("relay.commands")

Hook = Callable[["Runtime", Command], Awaitable[None]]
ANY_TYPE = "*"
_REMEMBERED = 4096  # command ids whose hooks completed lately (a repeat arrives within seconds)


class SettleHooks:
    def __init__(self) -> None:
        self._hooks: dict[str, list[Hook]] = {}
        # Per command id: the hooks running now (others wait for them), and the ones that
        # ran to completion lately. A settle's effects are asked for more than once — its
        # settling report, repeated reports racing it, recovery — and must run once.
        self._running: dict[str, trio.Event] = {}
        self._applied: OrderedDict[str, None] = OrderedDict()

    def register(self, command_type: str, hook: Hook) -> None:
        """Run ``hook`` whenever a command of ``command_type`` (or ``"*"``: any) settles."""
        self._hooks.setdefault(command_type, []).append(hook)

    def for_type(self, command_type: str) -> list[Hook]:
        return [*self._hooks.get(command_type, ()), *self._hooks.get(ANY_TYPE, ())]

    async def run(self, rt: Runtime, command: Command) -> bool:
        """Run the command's hooks; mark its effects applied if all of them succeeded.

        If they are running already (another report of the same settle), wait for that run
        instead of starting a second; if they ran to completion lately, don't run them again.
        Either way the effects are in place when this returns True.
        """
        running = self._running.get(command.id)
        if running is not None:
            await running.wait()
            return command.id in self._applied
        if command.id in self._applied:
            ok = True
        else:
            done = self._running[command.id] = trio.Event()
            try:
                ok = await self._run_hooks(rt, command)
            finally:
                del self._running[command.id]
                done.set()
        # A command whose type has no hooks was marked when it settled (in that commit).
        if ok and not command.effects_applied:
            await rt.store.write(lambda: command_store.mark_effects_applied(command.id))
        return ok

    def _remember(self, command_id: str) -> None:
        self._applied[command_id] = None
        while len(self._applied) > _REMEMBERED:
            self._applied.popitem(last=False)

    async def _run_hooks(self, rt: Runtime, command: Command) -> bool:
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
        if ok:
            self._remember(command.id)
        return ok
