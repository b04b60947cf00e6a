"""An inbox activation that has left the registry handles nothing more.

Passivating, an actor leaves the registry and queues its stop behind its mailbox. A
message already in that mailbox must not be handled there: a newer activation may have
loaded from the store meanwhile and never see what the old one did (a delivery queued
where no fetch finds it, a delivery handed out under two live leases). It is refused,
and ``registry.ask`` sends it again to the current activation.

The interleaving is forced, not timed: the old activation B is held in ``on_start`` until
the sweep that passivates it and the racing message are both in its mailbox, and the
racing message's handler, if it ever runs in B, first starts C and waits until C has
loaded (before B's write is queued), which is the race the review reproduced.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pykka
import pytest
import trio
import trio.testing

from relay.actors import Runtime
from relay.actors.inbox import rules as inbox_rules
from relay.actors.inbox.messages import KIND, ApplyDue, Enqueue, Fetch, Handed, Peek
from relay.actors.runtime.bridge import ask
from relay.actors.runtime.registry import ActorRegistry
from relay.clock import ManualClock
from relay.domain.messages import Message

AGENT = "x"
WAIT_S = 5


def message(n: int, now: int) -> Message:
    return Message(
        id=f"msg_{n}",
        client_message_id=f"msg_{n}",
        conversation_id="c1",
        seq=n,
        sender="s",
        to=AGENT,
        channel_id=None,
        thread_id=f"msg_{n}",
        reply_to=None,
        ack_required=True,
        importance="normal",
        body=f"b{n}",
        attachments=(),
        max_attempts=5,
        expires_at=now + 10_000_000,
        created_at=now,
    )


async def park_with_expired_lease(rt: Runtime, clock: ManualClock) -> None:
    """msg_0 leased for 5 s, the inbox passivated (parked), the lease then run out."""
    reg = rt.registry
    await reg.ask(KIND, AGENT, Enqueue(message(0, clock.now_ms())))
    handed = await reg.ask(KIND, AGENT, Fetch(lease_ms=5000, limit=10))
    assert [d.message_id for d in handed.deliveries] == ["msg_0"]
    ref = reg.live_ref(KIND, AGENT)
    assert ref is not None
    reg.passivate_idle(0)
    assert await trio.to_thread.run_sync(ref.actor_stopped.wait, WAIT_S)
    assert reg.is_parked(KIND, AGENT)
    clock.advance(6)


def race_in_departed_activation(
    reg: ActorRegistry, real: Callable[..., Any], raced: list[bool]
) -> Callable[..., Any]:
    """``real``, but run in an activation out of the registry it first starts the next
    activation and waits until that one has loaded: before this one's write is queued."""

    def racing(*args: Any, **kwargs: Any) -> Any:
        if not raced and reg.live_ref(KIND, AGENT) is None:
            raced.append(True)
            reg.ref(KIND, AGENT).ask(Peek(), block=False).get(timeout=WAIT_S)
        return real(*args, **kwargs)

    return racing


def hold_starts(reg: ActorRegistry, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Activations wait in ``on_start`` until the returned event is set."""
    held = threading.Event()
    real_take = reg.take_parked

    def take_parked_when_let(kind: str, key: str) -> Any:
        assert held.wait(WAIT_S)
        return real_take(kind, key)

    monkeypatch.setattr(reg, "take_parked", take_parked_when_let)
    return held


async def send_behind_passivating_sweep(
    rt: Runtime, racing: Any, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """Start B, queue the sweep that passivates it and then ``racing`` (asked as HTTP asks),
    and only then let B run. Returns the reply to ``racing``."""
    reg = rt.registry
    held = hold_starts(reg, monkeypatch)
    replies: list[Any] = []

    async def send() -> None:
        replies.append(await reg.ask(KIND, AGENT, racing))

    b = await trio.to_thread.run_sync(reg.ref, KIND, AGENT)
    sweep = b.ask(ApplyDue(), block=False)  # as the lease-expiry job: B stops after it
    async with trio.open_nursery() as nursery:
        nursery.start_soon(send)
        await trio.testing.wait_all_tasks_blocked()  # ``racing`` is in B's mailbox
        held.set()
    await trio.to_thread.run_sync(lambda: sweep.get(timeout=WAIT_S))
    assert await trio.to_thread.run_sync(b.actor_stopped.wait, WAIT_S)
    return replies[0]


async def test_a_message_queued_behind_passivation_is_found_by_the_next_fetch(
    runtime: Runtime, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = runtime.registry
    await park_with_expired_lease(runtime, clock)
    raced: list[bool] = []
    racing = race_in_departed_activation(reg, inbox_rules.queued, raced)
    monkeypatch.setattr(inbox_rules, "queued", racing)

    await send_behind_passivating_sweep(runtime, Enqueue(message(1, clock.now_ms())), monkeypatch)

    handed = await reg.ask(KIND, AGENT, Fetch(lease_ms=60_000, limit=10))
    assert sorted(d.message_id for d in handed.deliveries) == ["msg_0", "msg_1"]
    assert not raced, "the departed activation handled the message"


async def test_a_delivery_is_not_handed_out_under_two_leases(
    runtime: Runtime, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = runtime.registry
    await park_with_expired_lease(runtime, clock)
    raced: list[bool] = []
    racing = race_in_departed_activation(reg, inbox_rules.hand_out, raced)
    monkeypatch.setattr(inbox_rules, "hand_out", racing)

    first: Handed = await send_behind_passivating_sweep(
        runtime, Fetch(lease_ms=60_000, limit=10), monkeypatch
    )
    second = await reg.ask(KIND, AGENT, Fetch(lease_ms=60_000, limit=10))

    assert [d.message_id for d in first.deliveries] == ["msg_0"]
    assert [d.message_id for d in second.deliveries] == []
    assert not raced, "the departed activation handled the message"


async def test_a_departed_activation_refuses_a_direct_ask(
    runtime: Runtime, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Asked straight through pykka (not through the registry, which sends it again), the
    # refusal is the runtime's: ``ask`` raises ActorDeadError, as for a stopped actor.
    reg = runtime.registry
    await park_with_expired_lease(runtime, clock)
    held = hold_starts(reg, monkeypatch)
    b = await trio.to_thread.run_sync(reg.ref, KIND, AGENT)
    b.ask(ApplyDue(), block=False)
    errors: list[BaseException] = []

    async def peek() -> None:
        try:
            await ask(b, Peek(), timeout=WAIT_S, what="inbox actor")
        except pykka.ActorDeadError as exc:
            errors.append(exc)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(peek)
        await trio.testing.wait_all_tasks_blocked()
        held.set()
    assert len(errors) == 1
