"""Carrying out commands exactly once on this host.

For each delivered command: dedupe by id (in flight here, or already in the
journal), journal it, report ``running`` at once (the relay redelivers what is not
acknowledged), wait for its lane (one command at a time per repository or per
agent), journal ``executing``, run the handler, journal the outcome, then report
the outcome (retrying until it lands) and journal that it landed.

A command whose outcome is in the journal is never run again; its outcome is
re-sent. One a crash left without an outcome is run again if its handler is
idempotent (every workspace and session command but the control keystrokes),
else failed with an error that says so.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import trio

from relay.daemon import merge, sessions, wake, worktrees
from relay.daemon.context import Context, Host
from relay.daemon.journal import Entry
from relay.daemon.outcome import JSON, CommandFailed, Outcome
from relay.daemon.paths import PathRefused

log = logging.getLogger("relay.daemon.commands")

Run = Callable[[Context, JSON], Awaitable[JSON]]


@dataclass(frozen=True, slots=True)
class Handler:
    run: Run
    idempotent: bool
    lane: str  # the params key whose value serializes commands ("" → the command's own lane)


def _repo_lane(params: JSON, key: str) -> str:
    value = params.get(key) or params.get("cwd") or ""
    return "repo:" + (os.path.realpath(value) if isinstance(value, str) and value else "")


HANDLERS: dict[str, Handler] = {
    "agent.spawn": Handler(sessions.spawn, idempotent=True, lane="spawnRequestId"),
    "agent.restart": Handler(sessions.restart, idempotent=True, lane="agentId"),
    "agent.shutdown": Handler(sessions.shutdown, idempotent=True, lane="agentId"),
    "agent.compact": Handler(sessions.control, idempotent=False, lane="agentId"),
    "agent.clearContext": Handler(sessions.control, idempotent=False, lane="agentId"),
    "agent.reconnect": Handler(sessions.control, idempotent=False, lane="agentId"),
    # Typing the line again after a crash at worst shows it twice; failing it instead could
    # leave the agent asleep, as no second wake comes while its inbox is not empty.
    "agent.wake": Handler(wake.wake, idempotent=True, lane="agentId"),
    "workspace.create": Handler(worktrees.create, idempotent=True, lane="repoRoot"),
    "workspace.merge": Handler(merge.merge, idempotent=True, lane="repoRoot"),
    "workspace.cleanup": Handler(worktrees.cleanup, idempotent=True, lane="repoRoot"),
    "workspace.reconcile": Handler(worktrees.reconcile, idempotent=True, lane="repoRoot"),
}


class Reports(Protocol):
    async def report(
        self,
        command_id: str,
        status: str,
        *,
        result: Any = None,
        error: str | None = None,
        persistent: bool = False,
    ) -> bool: ...

    async def acknowledge(self, command_id: str) -> bool: ...


def lane_of(entry: Entry, handler: Handler | None) -> str:
    if handler is None or not handler.lane:
        return f"command:{entry.id}"
    if handler.lane == "repoRoot":
        return _repo_lane(entry.params, "repoRoot")
    value = entry.params.get(handler.lane)
    return f"{handler.lane}:{value}" if isinstance(value, str) and value else f"command:{entry.id}"


class Executor:
    def __init__(
        self,
        host: Host,
        reports: Reports,
        nursery: trio.Nursery,
        handlers: dict[str, Handler] | None = None,
    ) -> None:
        self.host = host
        self.handlers = HANDLERS if handlers is None else handlers
        self.reports = reports
        self.nursery = nursery
        self._limiter = trio.CapacityLimiter(host.settings.max_concurrent_commands)
        self._lanes: dict[str, trio.Lock] = {}
        self._inflight: set[str] = set()
        self._accepting = True
        self._draining = False
        self._idle = trio.Event()
        self._idle.set()

    @property
    def busy(self) -> int:
        return len(self._inflight)

    # -- intake ----------------------------------------------------------------------------------

    async def submit(self, command: JSON) -> None:
        """A command delivered by the relay (possibly again)."""
        command_id, type_, params = command.get("id"), command.get("type"), command.get("params")
        if not isinstance(command_id, str) or not isinstance(type_, str):
            log.warning("command_malformed keys=%s", sorted(command))
            return
        if command_id in self._inflight:
            log.info("command_duplicate id=%s type=%s", command_id, type_)
            self.nursery.start_soon(self._ack_again, command_id)
            return
        if not self._accepting:
            return  # not journaled: the relay hands it out again once we are back
        self._hold(command_id)
        try:
            entry, new = await trio.to_thread.run_sync(
                self.host.journal.receive,
                command_id,
                type_,
                params if isinstance(params, dict) else {},
            )
        except BaseException:
            self._release(command_id)
            raise
        if entry.outcome is not None:
            log.info(
                "command_redelivered id=%s type=%s outcome=%s", command_id, type_, entry.status
            )
            self.nursery.start_soon(self._settle, entry.id, entry.outcome)
            return
        if not new:
            log.info("command_redelivered id=%s type=%s phase=%s", command_id, type_, entry.phase)
        self.nursery.start_soon(self._run, entry)

    async def recover(self) -> None:
        """At start: re-send unreported outcomes, resolve commands a crash interrupted."""
        journal = self.host.journal
        for entry in await trio.to_thread.run_sync(journal.unreported):
            if entry.outcome is not None and entry.id not in self._inflight:
                log.info(
                    "command_resend id=%s type=%s outcome=%s", entry.id, entry.type, entry.status
                )
                self._hold(entry.id)
                self.nursery.start_soon(self._settle, entry.id, entry.outcome)
        for entry in await trio.to_thread.run_sync(journal.unfinished):
            if entry.id not in self._inflight:
                log.info(
                    "command_interrupted id=%s type=%s phase=%s", entry.id, entry.type, entry.phase
                )
                self._hold(entry.id)
                self.nursery.start_soon(self._run, entry)

    def known(self, command_id: str) -> bool:
        return command_id in self._inflight

    # -- shutdown --------------------------------------------------------------------------------

    def stop_accepting(self) -> None:
        """Take no new command; those not yet started fail as handed back."""
        self._accepting = False
        self._draining = True

    async def wait_idle(self) -> None:
        await self._idle.wait()

    # -- running ---------------------------------------------------------------------------------

    async def _run(self, entry: Entry) -> None:
        handler = self.handlers.get(entry.type)
        started = trio.current_time()
        try:
            if not await self.reports.acknowledge(entry.id):
                await self._drop_settled(entry)
                return
            lane = lane_of(entry, handler)
            lane_lock = self._lane(lane)
            waited = lane_lock.locked()
            outcome: Outcome | None = None
            # The lane first: commands queued behind one repo must not hold the others' slots.
            async with lane_lock:
                # No await between the look and the take: the slot seen free is this one's.
                waited = waited or self._limiter.available_tokens == 0
                async with self._limiter:
                    # A cancel may have come while it waited its turn (a merge behind
                    # another, or every slot taken).
                    if not waited or await self.reports.acknowledge(entry.id):
                        outcome = await self._outcome(entry, handler)
                        await trio.to_thread.run_sync(self.host.journal.finish, entry.id, outcome)
            self._forget_lane(lane)
            if outcome is None:
                await self._drop_settled(entry)
                return
            log.info(
                "command id=%s type=%s outcome=%s ms=%d%s",
                entry.id,
                entry.type,
                outcome.status,
                (trio.current_time() - started) * 1000,
                f" error={_quoted(outcome.error)}" if outcome.error else "",
            )
            await self._report_outcome(entry.id, outcome)
        finally:
            self._release(entry.id)

    async def _drop_settled(self, entry: Entry) -> None:
        """The relay holds it settled (cancelled, or expired unacknowledged): it is not run,
        and nothing is reported; journaled as done so a restart does not run it either."""
        log.info("command_settled_on_relay id=%s type=%s: not run", entry.id, entry.type)
        outcome = Outcome.failed("settled on the relay before it ran; not run")
        await trio.to_thread.run_sync(self.host.journal.finish, entry.id, outcome)
        await trio.to_thread.run_sync(self.host.journal.reported, entry.id)

    async def _outcome(self, entry: Entry, handler: Handler | None) -> Outcome:
        if handler is None:
            return Outcome.failed(f"unsupported command type {entry.type}")
        if self._draining:
            return Outcome.failed(
                "the orchestrator shut down before running this command; request it again"
            )
        resuming = entry.phase == "executing"
        if resuming and not handler.idempotent:
            return Outcome.failed(
                f"interrupted by an orchestrator restart before its outcome was recorded; "
                f"{entry.type} is not retried (it may have taken effect)"
            )
        await trio.to_thread.run_sync(self.host.journal.executing, entry.id)
        context = Context(
            host=self.host,
            command_id=entry.id,
            command_type=entry.type,
            resuming=resuming,
            prior=entry.checkpoint,
        )
        try:
            return Outcome.succeeded(await handler.run(context, entry.params))
        except PathRefused as exc:
            return Outcome.failed(str(exc), {"refused": True})
        except CommandFailed as exc:
            return Outcome.failed(exc.error, exc.result)
        except Exception as exc:
            log.exception("command_crashed id=%s type=%s", entry.id, entry.type)
            return Outcome.failed(f"orchestrator error: {type(exc).__name__}: {exc}")

    async def _settle(self, command_id: str, outcome: Outcome) -> None:
        try:
            await self._report_outcome(command_id, outcome)
        finally:
            self._release(command_id)

    async def _report_outcome(self, command_id: str, outcome: Outcome) -> None:
        landed = await self.reports.report(
            command_id,
            outcome.status,
            result=outcome.result,
            error=outcome.error,
            persistent=True,
        )
        if landed:
            await trio.to_thread.run_sync(self.host.journal.reported, command_id)

    async def _ack_again(self, command_id: str) -> None:
        await self.reports.report(command_id, "running")

    def _lane(self, key: str) -> trio.Lock:
        lock = self._lanes.get(key)
        if lock is None:
            lock = self._lanes[key] = trio.Lock()
        return lock

    def _forget_lane(self, key: str) -> None:
        lock = self._lanes.get(key)
        if lock is not None and not lock.locked() and lock.statistics().tasks_waiting == 0:
            del self._lanes[key]

    def _hold(self, command_id: str) -> None:
        self._inflight.add(command_id)
        self._idle = trio.Event() if self._idle.is_set() else self._idle

    def _release(self, command_id: str) -> None:
        self._inflight.discard(command_id)
        if not self._inflight:
            self._idle.set()


def _quoted(text: str | None) -> str:
    return (
        '"' + (text or "").replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")[:500] + '"'
    )
