"""Audit events: an activity row and the same event on the live stream, in one commit."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from relay.actors.runtime.context import Runtime
from relay.crossing import wait_future
from relay.domain.activity import ActivityEvent, ActivityInput
from relay.store import activity as activity_store
from relay.store import stream as stream_store
from relay.store.stream import StreamEvent

T = TypeVar("T")
Job = Callable[[], Awaitable[T]]


def audit(
    rt: Runtime, event: ActivityInput
) -> concurrent.futures.Future[tuple[ActivityEvent, bool]]:
    """Queue the event for the next group commit (callable from any thread); returns its future.

    The activity row and its live-stream event are one write. The write is ordered after
    every write queued before it, so an audit queued by an actor right after its state
    change is stored after that change.
    """
    now = rt.clock.now_ms()

    async def append() -> tuple[tuple[ActivityEvent, bool], list[StreamEvent]]:
        stored, created, stream = await append_row(event, now)
        return (stored, created), stream

    written = rt.events.write_with_events(rt.store.submit_write, append)
    outcome: concurrent.futures.Future[tuple[ActivityEvent, bool]] = concurrent.futures.Future()

    def unwrap(done: concurrent.futures.Future[Any]) -> None:
        if done.cancelled():
            outcome.cancel()
        elif (error := done.exception()) is not None:
            outcome.set_exception(error)
        else:
            outcome.set_result(done.result()[0])

    written.add_done_callback(unwrap)
    return outcome


async def append_row(
    event: ActivityInput, now: int
) -> tuple[ActivityEvent, bool, list[StreamEvent]]:
    """Store the activity row and, if it is new (not a known ``client_id``), its stream event."""
    stored, created = await activity_store.append(event, now)
    if not created:
        return stored, False, []
    stream = await stream_store.append(
        "activity", stored.to_json(), stored.view, stored.agent_id, now
    )
    return stored, True, [stream]


@dataclass(frozen=True, slots=True)
class Change:
    """A stream event describing a change, stored in the change's own transaction."""

    event: str
    data: dict[str, Any]
    view: str | None = None
    agent_id: str | None = None


def write_with_audit(
    rt: Runtime,
    submit: Callable[[Job[Any]], concurrent.futures.Future[Any]],
    job: Job[T],
    *,
    audits: Sequence[ActivityInput] = (),
    changes: Sequence[Change] = (),
    audits_of: Callable[[T], Sequence[ActivityInput]] | None = None,
    changes_of: Callable[[T], Sequence[Change]] | None = None,
) -> concurrent.futures.Future[tuple[T, list[StreamEvent]]]:
    """``job``, its stream events and its audit events, as one write (``submit`` queues it).

    One transaction: the trail can neither miss a change nor describe one that was rolled
    back, and the caller waits for one commit instead of one per row. The stream events
    (``changes``, then each audit's ``activity`` event) reach live subscribers once it
    has committed. ``audits_of(result)`` and ``changes_of(result)`` add rows and events
    that depend on what ``job`` found (a revoked token's record, a config entry's new
    version; none when it changed nothing).
    """
    now = rt.clock.now_ms()

    async def together() -> tuple[T, list[StreamEvent]]:
        result = await job()
        described_changes = [*changes, *(changes_of(result) if changes_of is not None else ())]
        stream = [
            await stream_store.append(c.event, c.data, c.view, c.agent_id, now)
            for c in described_changes
        ]
        described = [*audits, *(audits_of(result) if audits_of is not None else ())]
        for event in described:
            stream += (await append_row(event, now))[2]
        return result, stream

    return rt.events.write_with_events(submit, together)


async def write_audited(
    rt: Runtime,
    job: Job[T],
    audits_of: Callable[[T], Sequence[ActivityInput]],
    *,
    changes_of: Callable[[T], Sequence[Change]] | None = None,
) -> T:
    """From trio: ``job`` and the audit rows and stream events it calls for, in one commit;
    returns its result.

    For changes no actor owns (tokens, config): the row is stored with the change or the
    change fails with it, and the caller's 2xx implies both.
    """
    written = write_with_audit(
        rt, rt.store.submit_write, job, audits_of=audits_of, changes_of=changes_of
    )
    result, _stream = await wait_future(
        written, timeout=rt.settings.store_timeout_seconds, what="store"
    )
    return result


async def record(rt: Runtime, event: ActivityInput) -> ActivityEvent:
    """Audit from trio and wait until the event is stored (a 2xx then implies the audit)."""
    stored, _created = await wait_future(
        audit(rt, event), timeout=rt.settings.store_timeout_seconds, what="store"
    )
    return stored
