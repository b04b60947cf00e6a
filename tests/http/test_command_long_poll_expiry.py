"""Long-polls that reach their deadline (issue 23): they answer without another actor
round trip, spread a little past ``wait`` so a fleet's polls do not all end in one tick."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from relay.actors.commands.messages import Poll
from relay.actors.commands.rules import POLL_SPREAD_MAX_SECONDS, poll_spread
from relay.http.services import Services
from tests.http.helpers import create_command, poll, register_orchestrator


def count_polls(services: Services, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    registry = services.runtime.registry
    polls: list[Any] = []
    ask = registry.ask

    async def counting(kind: Any, target: str, message: Any) -> Any:
        if isinstance(message, Poll):
            polls.append(target)
        return await ask(kind, target, message)

    monkeypatch.setattr(registry, "ask", counting)
    return polls


async def test_a_long_poll_at_its_deadline_answers_without_asking_again(
    client: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    await register_orchestrator(client)
    polls = count_polls(services, monkeypatch)
    start = trio.current_time()
    assert await poll(client, wait=1) == []
    waited = trio.current_time() - start
    assert polls == ["o1"]  # the first ask only
    assert 1 <= waited < 1 + poll_spread(1, 1.0) + 0.5


async def test_a_command_queued_while_waiting_is_still_handed_out(
    client: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    await register_orchestrator(client)
    polls = count_polls(services, monkeypatch)
    received: list[Any] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: _poll_into(client, received))
        with trio.fail_after(5):
            while not services.runtime.doorbells.armed("o1"):
                await trio.lowlevel.checkpoint()
        command = await create_command(client)
    assert [c["id"] for c in received] == [command["id"]]
    assert polls == ["o1", "o1"]  # the ring woke it, and it asked again


async def _poll_into(client: Any, received: list[Any]) -> None:
    received.extend(await poll(client, wait=5))


@pytest.mark.parametrize(
    ("wait", "draw", "spread"),
    [
        (0, 0.9, 0.0),  # no wait, no spread
        (1, 0.0, 0.0),
        (1, 0.5, 0.025),  # 5 % of the wait
        (4, 0.999, 0.1998),
        (25, 0.5, POLL_SPREAD_MAX_SECONDS / 2),  # capped
        (60, 0.999, POLL_SPREAD_MAX_SECONDS * 0.999),
    ],
)
def test_the_spread_is_a_share_of_the_wait_after_it_and_capped(
    wait: float, draw: float, spread: float
) -> None:
    assert poll_spread(wait, draw) == pytest.approx(spread)
