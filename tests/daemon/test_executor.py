"""Exactly once on the host: dedupe, journal before report, replay, resume, hand-back."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import trio
import trio.testing

from relay.daemon.context import Context, Host
from relay.daemon.executor import Executor, Handler
from relay.daemon.journal import Journal
from relay.daemon.outcome import JSON, CommandFailed


class FakeReports:
    """Records every report, and what the journal said when it was sent."""

    def __init__(self, journal: Journal, *, landing: bool = True) -> None:
        self.journal = journal
        self.landing = landing
        self.sent: list[tuple[str, str, Any, str | None]] = []
        self.phase_at_report: list[str | None] = []
        self.settled_on_relay: set[str] = set()  # acknowledged: "command already settled"

    async def report(
        self,
        command_id: str,
        status: str,
        *,
        result: Any = None,
        error: str | None = None,
        persistent: bool = False,
    ) -> bool:
        entry = self.journal.get(command_id)
        self.phase_at_report.append(entry.phase if entry else None)
        self.sent.append((command_id, status, result, error))
        return self.landing

    async def acknowledge(self, command_id: str) -> bool:
        await self.report(command_id, "running")
        return command_id not in self.settled_on_relay

    def outcomes(self) -> list[tuple[str, str, Any, str | None]]:
        return [sent for sent in self.sent if sent[1] != "running"]


class Counting:
    def __init__(self, *, fail: str | None = None, gate: trio.Event | None = None) -> None:
        self.runs: list[Context] = []
        self.fail = fail
        self.gate = gate

    async def __call__(self, ctx: Context, params: JSON) -> JSON:
        self.runs.append(ctx)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise CommandFailed(self.fail, {"why": "test"})
        return {"ran": params.get("n")}


def command(command_id: str = "cmd_1", type_: str = "test.ok", **params: Any) -> JSON:
    return {"id": command_id, "type": type_, "params": params}


async def run_executor(
    host: Host, reports: FakeReports, handlers: dict[str, Handler], body: Any
) -> None:
    async with trio.open_nursery() as nursery:
        executor = Executor(host, reports, nursery, handlers)
        await body(executor)
        with trio.fail_after(5):
            await executor.wait_idle()


async def test_runs_once_reports_running_then_outcome_after_journaling(host: Host) -> None:
    handler = Counting()
    reports = FakeReports(host.journal)

    async def body(executor: Executor) -> None:
        await executor.submit(command(n=1))

    await run_executor(host, reports, {"test.ok": Handler(handler, True, "")}, body)
    assert [s[1] for s in reports.sent] == ["running", "succeeded"]
    assert reports.sent[1][2] == {"ran": 1}
    assert reports.phase_at_report == ["received", "done"]  # outcome journaled before report
    entry = host.journal.get("cmd_1")
    assert entry is not None
    assert entry.reported_at is not None


async def test_redelivery_while_running_is_not_run_again(host: Host) -> None:
    gate = trio.Event()
    handler = Counting(gate=gate)
    reports = FakeReports(host.journal)

    async def body(executor: Executor) -> None:
        await executor.submit(command())
        await trio.testing.wait_all_tasks_blocked()
        await executor.submit(command())  # the relay hands it out again
        await trio.testing.wait_all_tasks_blocked()
        gate.set()

    await run_executor(host, reports, {"test.ok": Handler(handler, True, "")}, body)
    assert len(handler.runs) == 1
    assert [s[1] for s in reports.sent].count("succeeded") == 1


async def test_redelivery_of_a_settled_command_resends_its_outcome(host: Host) -> None:
    handler = Counting(fail="no good")
    reports = FakeReports(host.journal)

    async def body(executor: Executor) -> None:
        await executor.submit(command())
        with trio.fail_after(5):
            await executor.wait_idle()
        await executor.submit(command())  # after a lost PATCH, a relay restart, …

    await run_executor(host, reports, {"test.ok": Handler(handler, True, "")}, body)
    assert len(handler.runs) == 1
    assert reports.outcomes() == [
        ("cmd_1", "failed", {"why": "test"}, "no good"),
        ("cmd_1", "failed", {"why": "test"}, "no good"),
    ]


async def test_recover_resends_an_outcome_that_never_landed(host: Host) -> None:
    handler = Counting()
    lost = FakeReports(host.journal, landing=False)
    handlers = {"test.ok": Handler(handler, True, "")}

    async def first(executor: Executor) -> None:
        await executor.submit(command(n=7))

    await run_executor(host, lost, handlers, first)
    assert [e.id for e in host.journal.unreported()] == ["cmd_1"]
    reports = FakeReports(host.journal)

    async def restarted(executor: Executor) -> None:
        await executor.recover()

    await run_executor(host, reports, handlers, restarted)
    assert len(handler.runs) == 1
    assert reports.outcomes() == [("cmd_1", "succeeded", {"ran": 7}, None)]
    assert host.journal.unreported() == []


@pytest.mark.parametrize(
    ("idempotent", "runs", "status"),
    [(True, 1, "succeeded"), (False, 0, "failed")],
)
async def test_interrupted_command_is_finished_or_failed(
    host: Host, idempotent: bool, runs: int, status: str
) -> None:
    host.journal.receive("cmd_1", "test.ok", {"n": 3})
    host.journal.executing("cmd_1")  # then kill -9
    handler = Counting()
    reports = FakeReports(host.journal)

    async def restarted(executor: Executor) -> None:
        await executor.recover()

    await run_executor(host, reports, {"test.ok": Handler(handler, idempotent, "")}, restarted)
    assert len(handler.runs) == runs
    [(_, sent_status, _, error)] = reports.outcomes()
    assert sent_status == status
    if idempotent:
        assert handler.runs[0].resuming is True
    else:
        assert error is not None
        assert "not retried" in error


async def test_received_but_never_started_runs_normally_after_restart(host: Host) -> None:
    host.journal.receive("cmd_1", "test.ok", {"n": 4})
    handler = Counting()
    reports = FakeReports(host.journal)

    async def restarted(executor: Executor) -> None:
        await executor.recover()

    await run_executor(host, reports, {"test.ok": Handler(handler, False, "")}, restarted)
    assert [ctx.resuming for ctx in handler.runs] == [False]
    assert reports.outcomes() == [("cmd_1", "succeeded", {"ran": 4}, None)]


async def test_unknown_type_fails_without_running(host: Host) -> None:
    reports = FakeReports(host.journal)

    async def body(executor: Executor) -> None:
        await executor.submit(command(type_="rocket.launch"))

    await run_executor(host, reports, {}, body)
    assert reports.outcomes() == [
        ("cmd_1", "failed", None, "unsupported command type rocket.launch")
    ]


async def test_one_lane_runs_commands_in_order(host: Host) -> None:
    order: list[str] = []

    async def slow(ctx: Context, params: JSON) -> JSON:
        order.append(f"start {ctx.command_id}")
        await trio.sleep(0.01)
        order.append(f"end {ctx.command_id}")
        return {}

    reports = FakeReports(host.journal)

    async def body(executor: Executor) -> None:
        await executor.submit(command("cmd_a", repoRoot="/r"))
        await executor.submit(command("cmd_b", repoRoot="/r"))

    await run_executor(host, reports, {"test.ok": Handler(slow, True, "repoRoot")}, body)
    assert order == ["start cmd_a", "end cmd_a", "start cmd_b", "end cmd_b"]


async def test_stop_accepting_hands_back_waiting_commands(host: Host) -> None:
    gate = trio.Event()
    handler = Counting(gate=gate)
    reports = FakeReports(host.journal)

    async def body(executor: Executor) -> None:
        await executor.submit(command("cmd_a", repoRoot="/r"))
        await executor.submit(command("cmd_b", repoRoot="/r"))
        await trio.testing.wait_all_tasks_blocked()
        executor.stop_accepting()  # SIGTERM
        await executor.submit(command("cmd_c", repoRoot="/r"))  # not taken at all
        gate.set()

    await run_executor(host, reports, {"test.ok": Handler(handler, True, "repoRoot")}, body)
    assert [ctx.command_id for ctx in handler.runs] == ["cmd_a"]
    outcomes = {sent[0]: sent for sent in reports.outcomes()}
    assert outcomes["cmd_a"][1] == "succeeded"
    assert outcomes["cmd_b"][1] == "failed"
    assert "shut down before running" in (outcomes["cmd_b"][3] or "")
    assert "cmd_c" not in outcomes
    assert host.journal.get("cmd_c") is None


async def test_handler_crash_becomes_a_failed_outcome(host: Host) -> None:
    async def broken(ctx: Context, params: JSON) -> JSON:
        raise KeyError("boom")

    reports = FakeReports(host.journal)

    async def body(executor: Executor) -> None:
        await executor.submit(command())

    await run_executor(host, reports, {"test.ok": Handler(broken, True, "")}, body)
    [(_, status, _, error)] = reports.outcomes()
    assert status == "failed"
    assert error == "orchestrator error: KeyError: 'boom'"


async def test_a_command_settled_on_the_relay_is_not_run_nor_reported(host: Host) -> None:
    # Cancelled or expired before this host acknowledged it: "running" is answered
    # "command already settled", and the command is journaled done, not carried out.
    handler = Counting()
    reports = FakeReports(host.journal)
    reports.settled_on_relay.add("cmd_1")

    async def body(executor: Executor) -> None:
        await executor.submit(command())

    await run_executor(host, reports, {"test.ok": Handler(handler, True, "")}, body)
    assert handler.runs == []
    assert reports.outcomes() == []
    entry = host.journal.get("cmd_1")
    assert entry is not None
    assert entry.outcome is not None
    assert host.journal.unfinished() == []
    assert host.journal.unreported() == []


async def test_a_command_cancelled_while_it_waits_for_its_lane_is_not_run(host: Host) -> None:
    gate = trio.Event()
    handler = Counting(gate=gate)
    reports = FakeReports(host.journal)

    async def body(executor: Executor) -> None:
        await executor.submit(command("cmd_a", repoRoot="/r"))
        await executor.submit(command("cmd_b", repoRoot="/r"))
        await trio.testing.wait_all_tasks_blocked()
        reports.settled_on_relay.add("cmd_b")  # its creator cancels it meanwhile
        gate.set()

    await run_executor(host, reports, {"test.ok": Handler(handler, True, "repoRoot")}, body)
    assert [ctx.command_id for ctx in handler.runs] == ["cmd_a"]
    assert [sent[:2] for sent in reports.outcomes()] == [("cmd_a", "succeeded")]
    assert [sent[:2] for sent in reports.sent if sent[0] == "cmd_b"] == [
        ("cmd_b", "running"),
        ("cmd_b", "running"),
    ]


async def test_a_command_cancelled_while_it_waits_for_a_free_slot_is_not_run(
    host: Host,
) -> None:
    """``max_concurrent_commands`` slots are all taken by commands of other lanes: the
    next command waits for a slot (its own lane is free).
    Its creator cancels it meanwhile; once a slot frees it must not be run, as for a
    command that waited behind its lane."""
    one_slot = replace(
        host, settings=host.settings.model_copy(update={"max_concurrent_commands": 1})
    )
    gate = trio.Event()
    handler = Counting(gate=gate)
    reports = FakeReports(one_slot.journal)

    async def body(executor: Executor) -> None:
        await executor.submit(command("cmd_a", repoRoot="/r1"))
        await trio.testing.wait_all_tasks_blocked()
        await executor.submit(command("cmd_b", repoRoot="/r2"))  # another lane, no slot
        await trio.testing.wait_all_tasks_blocked()
        reports.settled_on_relay.add("cmd_b")  # cancelled on the relay while it waits
        gate.set()

    await run_executor(one_slot, reports, {"test.ok": Handler(handler, True, "repoRoot")}, body)
    assert [ctx.command_id for ctx in handler.runs] == ["cmd_a"], (
        "cmd_b ran though the relay settled it while it waited for a slot"
    )
