"""The daemon: register, keep the channel, run commands, heartbeat; stop cleanly on SIGTERM.

On SIGTERM (or SIGINT) it takes no new command, lets running ones finish for up to
``drain_seconds`` (those still waiting for their turn are failed as handed back),
then stops. A second signal stops at once; whatever was cut off is in the journal
and is resolved at the next start.
"""

from __future__ import annotations

import logging
import signal
import time
from functools import partial

import trio

from relay.daemon import state as state_file
from relay.daemon.backoff import Backoff
from relay.daemon.channel import Channel
from relay.daemon.client import RelayClient, RelayRejected, RelayUnavailable
from relay.daemon.config import DaemonSettings
from relay.daemon.context import Host
from relay.daemon.executor import HANDLERS, Executor
from relay.daemon.git import Git
from relay.daemon.journal import Journal
from relay.daemon.paths import BaseDir, PathRefused
from relay.daemon.presence import (
    NO_CREDENTIAL_HELP,
    DaemonError,
    Registration,
    RelayCalls,
    heartbeats,
    register,
)
from relay.daemon.reporting import Reporter
from relay.daemon.tmux import Tmux

log = logging.getLogger("relay.daemon")

JOURNAL_FILE = "journal.sqlite3"
ORPHAN_CHECK_DELAY_SECONDS = 1.0
PRUNE_EVERY_SECONDS = 6 * 3600


class Daemon:
    def __init__(self, settings: DaemonSettings) -> None:
        self.settings = settings
        self.stop = trio.Event()
        self.channel: Channel | None = None
        self.executor: Executor | None = None
        self.registration: Registration | None = None

    def _backoff(self) -> Backoff:
        return Backoff(self.settings.backoff_initial_seconds, self.settings.backoff_max_seconds)

    async def run(self, *, task_status: trio.TaskStatus[Daemon] = trio.TASK_STATUS_IGNORED) -> None:
        """Run until ``stop`` is set (``serve`` wires SIGTERM/SIGINT to it).

        Raises:
            DaemonError: the base dir, state or tokens cannot be used.
        """
        settings = self.settings
        if not settings.base_dir.is_dir():
            raise DaemonError(f"the base dir {settings.base_dir} does not exist")
        try:
            base = BaseDir.at(settings.base_dir, settings.worktrees_dir)
            state_file.ensure_state_dir(base.state_dir)
            lock = state_file.DaemonLock(base.state_dir)
            lock.acquire()
        except (PathRefused, state_file.StateError) as exc:
            raise DaemonError(str(exc)) from exc
        try:
            kept = state_file.resolve(base.state_dir, configured_id=settings.id, name=settings.name)
        except state_file.StateError as exc:
            lock.release()
            raise DaemonError(str(exc)) from exc
        if not (kept.token or settings.token):
            lock.release()
            raise DaemonError(NO_CREDENTIAL_HELP)
        journal = Journal(base.state_dir / JOURNAL_FILE)
        pruned = journal.prune(self._retention_cutoff_ms())
        client = RelayClient(settings.url, kept.token or settings.token)
        try:
            await self._serve(client, base, journal, kept, task_status)
        finally:
            await client.aclose()
            journal.close()
            lock.release()
            log.info("orchestrator_stopped id=%s pruned=%d", kept.id, pruned)

    async def _serve(
        self,
        client: RelayClient,
        base: BaseDir,
        journal: Journal,
        kept: state_file.OrchestratorState,
        task_status: trio.TaskStatus[Daemon],
    ) -> None:
        settings = self.settings
        types = sorted(HANDLERS)
        with trio.CancelScope() as registering:
            # A stop signal during the first registration ends the daemon right away.
            async def watch_stop() -> None:
                await self.stop.wait()
                registering.cancel()

            async with trio.open_nursery() as waiting:
                waiting.start_soon(watch_stop)
                self.registration = await register(
                    client, settings, base, kept, types, self._backoff()
                )
                waiting.cancel_scope.cancel()
        if self.registration is None:
            return
        registration = self.registration
        host = Host(
            orchestrator_id=registration.state.id,
            # The sessions it starts get the relay it registered with (one URL, as agents'
            # tools expect); should that one become a standby, its 307 names the active.
            relay_url=client.url,
            settings=settings,
            base=base,
            git=Git(timeout=settings.git_timeout_seconds, executable=settings.git_command),
            tmux=Tmux(executable=settings.tmux_command, socket=settings.tmux_socket),
            journal=journal,
            relay=RelayCalls(client, self._backoff),
        )
        reporter = Reporter(client, None, self._backoff)

        async def reregister() -> None:
            registration.state = (
                await register(client, settings, base, registration.state, types, self._backoff())
            ).state

        async with trio.open_nursery() as work:
            executor = self.executor = Executor(host, reporter, work)
            channel = self.channel = Channel(
                client,
                host.orchestrator_id,
                executor.submit,
                backoff=self._backoff(),
                long_poll_seconds=settings.long_poll_seconds,
            )
            reporter.socket = channel
            async with trio.open_nursery() as services:
                await executor.recover()
                services.start_soon(channel.serve)
                services.start_soon(heartbeats, client, host, registration, reregister)
                services.start_soon(self._settle_orphans, client, host, executor)
                services.start_soon(self._prune_journal, journal)
                log.info(
                    "orchestrator_started id=%s base_dir=%s relay=%s relays=%s",
                    host.orchestrator_id,
                    base.root,
                    client.url,
                    ",".join(settings.url),
                )
                task_status.started(self)
                await self.stop.wait()
                log.info("orchestrator_stopping id=%s busy=%d", host.orchestrator_id, executor.busy)
                executor.stop_accepting()
                with trio.move_on_after(settings.drain_seconds) as drain:
                    await executor.wait_idle()
                if drain.cancelled_caught:
                    log.warning(
                        "orchestrator_drain_timeout busy=%d left_to=journal",
                        executor.busy,
                    )
                services.cancel_scope.cancel()
            work.cancel_scope.cancel()

    def _retention_cutoff_ms(self) -> int:
        return int((time.time() - self.settings.journal_retention_days * 86_400) * 1000)

    async def _prune_journal(self, journal: Journal) -> None:
        """Forget long-settled commands now and then (they can no longer be redelivered)."""
        while True:
            await trio.sleep(PRUNE_EVERY_SECONDS)
            pruned = await trio.to_thread.run_sync(journal.prune, self._retention_cutoff_ms())
            log.info("journal_pruned commands=%d", pruned)

    async def _settle_orphans(self, client: RelayClient, host: Host, executor: Executor) -> None:
        """Commands the relay has as ``running`` here that the journal never saw: fail them.

        Only a lost or reset journal leaves such commands; nothing ran them, and nothing
        else would ever settle them.
        """
        await trio.sleep(ORPHAN_CHECK_DELAY_SECONDS)
        try:
            running = await client.list_commands(target=host.orchestrator_id, status="running")
        except (RelayRejected, RelayUnavailable) as exc:
            log.info("orphan_check_skipped error=%s", exc)
            return
        for command in running:
            command_id = command.get("id")
            if not isinstance(command_id, str) or executor.known(command_id):
                continue
            if await trio.to_thread.run_sync(host.journal.get, command_id) is not None:
                continue
            log.warning("command_orphaned id=%s type=%s", command_id, command.get("type"))
            await executor.reports.report(
                command_id,
                "failed",
                error="the orchestrator has no record of this command (its journal was lost or "
                "reset); it was not run here",
            )


async def serve(settings: DaemonSettings) -> None:
    """Run the daemon until SIGTERM/SIGINT; a second signal stops it at once."""
    daemon = Daemon(settings)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(_signals, daemon, nursery.cancel_scope))
        await daemon.run()
        nursery.cancel_scope.cancel()


async def _signals(daemon: Daemon, scope: trio.CancelScope) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            name = signal.Signals(signum).name
            if daemon.stop.is_set():
                log.warning("orchestrator_stop_now signal=%s", name)
                scope.cancel()
                return
            log.info("orchestrator_signal signal=%s", name)
            daemon.stop.set()


def run(settings: DaemonSettings) -> None:
    """Run the daemon in this thread until it is signalled.

    Raises:
        DaemonError: it cannot run as configured (unwrapped from trio's exception groups).
    """
    try:
        trio.run(serve, settings)
    except BaseExceptionGroup as group:
        error = _sole_daemon_error(group)
        if error is None:
            raise
        raise error from None


def _sole_daemon_error(group: BaseExceptionGroup[BaseException]) -> DaemonError | None:
    """The DaemonError a group holds, if that is all it holds (nested groups included)."""
    matched, rest = group.split(DaemonError)
    if matched is None or rest is not None:
        return None
    found: BaseException = matched
    while isinstance(found, BaseExceptionGroup):
        found = found.exceptions[0]
    return found if isinstance(found, DaemonError) else None
