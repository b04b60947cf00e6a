"""Live streams end when their token is revoked or expires: GET /api/events sends
``signed-out`` (no id) and ends; a command channel closes with 4401.

Revocation reaches open streams at once (the revoke path tells the hub); expiry is a
timer at ``exp``, driven here by trio's mock clock moved with the relay's wall clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.testing
from quart.testing.connections import WebsocketDisconnectError

from relay import crossing
from relay.actors.inbox import flows as inbox_flows
from relay.actors.runtime import bridge
from relay.actors.tokens.issuing import deny
from relay.clock import ManualClock
from relay.http.channels import TOKEN_CLOSE_CODE
from relay.http.services import Services
from tests.conftest import bearer
from tests.http.helpers import H, create_command, register_orchestrator
from tests.http.sse_client import EventStream, Frame, open_stream, post_activity
from tests.http.test_inbox import fetch, queue, setup_pair
from tests.http.test_inbox_handoff import offered

# Revocation must end a stream within about a second.
PROMPTLY = 1.0


async def last_frames(stream: EventStream) -> list[Frame]:
    """The frames that carry an event (an id, or a named id-less one) until the end."""
    frames: list[Frame] = []
    try:
        while True:
            frame = await stream.next_frame()
            if frame.event is not None:
                frames.append(frame)
    except trio.EndOfChannel:
        return frames


async def revoke(client: Any, services: Services, token: str) -> None:
    jti = services.auth.verify(token).jti
    response = await client.delete(f"/api/tokens/{jti}", headers=H)
    assert response.status_code == 200


Advance = Callable[[float], Awaitable[None]]


@pytest.fixture
def advance(
    clock: ManualClock, mock_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> Advance:
    """``await advance(s)``: move the relay's wall clock and trio's clock together, once
    the stream waits (its deadline is then set: trio's clock stands still in these tests
    unless moved) and no wait on another thread is in flight.

    Such a wait (a maintenance job's store read, an actor's reply) times out on trio's
    clock: jumped past its timeout while its thread is still busy (a loaded CI machine),
    it fails a job whose failure then shows on the stream. Every such wait is counted here,
    through the one function they all await (``wait_until_done``).

    A test using it names ``mock_clock`` among its own arguments too: pytest-trio runs a
    test on a clock only the test itself asks for.
    """
    pending = 0
    settled = trio.Event()
    real = crossing.wait_until_done

    async def counted(on_done: crossing.OnDone, *, timeout: float, what: str) -> None:
        nonlocal pending
        pending += 1
        try:
            await real(on_done, timeout=timeout, what=what)
        finally:
            pending -= 1
            if pending == 0:
                settled.set()

    monkeypatch.setattr(crossing, "wait_until_done", counted)
    monkeypatch.setattr(bridge, "wait_until_done", counted)

    async def advance_(seconds: float) -> None:
        nonlocal settled
        while True:
            await trio.testing.wait_all_tasks_blocked()
            if pending == 0:
                break
            settled = trio.Event()
            await settled.wait()
        clock.advance(seconds)
        mock_clock.jump(seconds)

    return advance_


async def test_revoking_the_token_ends_its_event_stream(
    client: Any, services: Services, mint: Any
) -> None:
    token = mint(["activity:read"])
    async with open_stream(client, headers=bearer(token)) as stream:
        posted = await post_activity(client, "before")
        assert (await stream.next_event()).data == posted
        await revoke(client, services, token)
        with trio.fail_after(PROMPTLY):
            frames = await last_frames(stream)
    assert [(f.event, f.data) for f in frames] == [("signed-out", {"reason": "token revoked"})]
    assert frames[-1].id is None
    assert stream.ended


async def test_revoking_ends_a_stream_opened_with_a_ticket(
    client: Any, services: Services, mint: Any
) -> None:
    token = mint(["activity:read"])
    response = await client.post("/api/events/ticket", headers=bearer(token))
    assert response.status_code == 201
    ticket = (await response.get_json())["ticket"]
    async with open_stream(client, query={"ticket": ticket}, headers={}) as stream:
        await revoke(client, services, token)
        with trio.fail_after(PROMPTLY):
            frames = await last_frames(stream)
    assert [(f.event, f.data) for f in frames] == [("signed-out", {"reason": "token revoked"})]


async def test_revoking_another_token_leaves_the_stream_open(
    client: Any, services: Services, mint: Any
) -> None:
    mine, other = mint(["activity:read"]), mint(["activity:read"])
    async with open_stream(client, headers=bearer(mine)) as stream:
        await revoke(client, services, other)
        posted = await post_activity(client, "still live")
        frame = await stream.next_event()
    assert frame.data == posted


async def test_a_ticket_whose_token_expired_since_is_refused(
    client: Any, clock: ManualClock, mint: Any
) -> None:
    token = mint(["activity:read"], ttl=5)
    response = await client.post("/api/events/ticket", headers=bearer(token))
    ticket = (await response.get_json())["ticket"]
    clock.advance(6)
    response = await client.get(f"/api/events?ticket={ticket}")
    assert response.status_code == 401
    assert await response.get_json() == {"error": "token expired"}


async def test_an_event_stream_ends_when_its_token_expires(
    client: Any, mint: Any, mock_clock: trio.testing.MockClock, advance: Advance
) -> None:
    token = mint(["activity:read"], ttl=20)
    async with open_stream(client, headers=bearer(token)) as stream:
        await advance(9)
        await advance(9)
        frame = await stream.next_frame()  # the keep-alive after 15 s of silence
        assert frame.comments == ("keep-alive",)
        await advance(1.5)
        assert not stream.ended
        await advance(0.5)
        frames = await last_frames(stream)
    assert [(f.event, f.data, f.id) for f in frames] == [
        ("signed-out", {"reason": "token expired"}, None)
    ]


async def test_a_root_stream_never_expires(
    client: Any, clock: ManualClock, mock_clock: trio.testing.MockClock, advance: Advance
) -> None:
    async with open_stream(client) as stream:
        clock.advance(400 * 86_400)
        for _ in range(2):
            await advance(8)
            await advance(8)
            frame = await stream.next_frame()
            assert (frame.event, frame.comments) == (None, ("keep-alive",))
        assert not stream.ended


# -- the command channel -----------------------------------------------------------------------


async def answering(ws: Any) -> None:
    """Wait until the channel is open (the handshake authenticated) and answering."""
    await ws.send('{"type": "nonsense"}')
    assert "unknown message type" in await ws.receive()


async def closed_code(ws: Any) -> int:
    while True:
        try:
            await ws.receive()
        except WebsocketDisconnectError as closed:
            code: int = closed.args[0]
            return code


async def test_revoking_the_token_closes_the_orchestrator_channel(
    client: Any, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="relay.channels")
    token = (await register_orchestrator(client, "o1"))["token"]
    async with client.websocket("/api/orchestrators/o1/channel", headers=bearer(token)) as ws:
        await answering(ws)
        await revoke(client, services, token)
        with trio.fail_after(PROMPTLY):
            assert await closed_code(ws) == TOKEN_CLOSE_CODE
    assert any("reason=token revoked" in r.getMessage() for r in caplog.records)


async def test_revoking_the_token_closes_an_agent_channel(
    client: Any, services: Services, mint: Any
) -> None:
    response = await client.post("/api/agents", json={"id": "a1", "name": "a1"}, headers=H)
    assert response.status_code == 201
    token = mint(["command:read", "command:write"], {"agents": ["a1"]})
    async with client.websocket("/api/agents/a1/channel", headers=bearer(token)) as ws:
        await answering(ws)
        await revoke(client, services, token)
        with trio.fail_after(PROMPTLY):
            assert await closed_code(ws) == TOKEN_CLOSE_CODE


async def test_the_channel_closes_when_its_token_expires(
    client: Any,
    mint: Any,
    mock_clock: trio.testing.MockClock,
    advance: Advance,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="relay.channels")
    await register_orchestrator(client, "o1")
    token = mint(["command:read"], {"orchestrators": ["o1"]}, role="orchestrator", ttl=5)
    async with client.websocket("/api/orchestrators/o1/channel", headers=bearer(token)) as ws:
        await answering(ws)
        await advance(4)
        await answering(ws)
        await advance(1)
        assert await closed_code(ws) == TOKEN_CLOSE_CODE
    assert any("reason=token expired" in r.getMessage() for r in caplog.records)


async def test_a_root_channel_stays_open_past_any_expiry(
    client: Any, clock: ManualClock, services: Services
) -> None:
    await register_orchestrator(client, "o1")
    async with client.websocket("/api/orchestrators/o1/channel", headers=H) as ws:
        await answering(ws)
        clock.advance(400 * 86_400)
        services.runtime.events.token_revoked("anything")
        await answering(ws)


# -- a long-poll's wait ends with its token, before anything is taken -------------------------


async def _poll_until_revoked(
    client: Any, services: Services, token: str, url: str, waiting: Any
) -> Any:
    """``url`` long-polled with ``token``; once ``waiting()`` says it waits, the token is
    revoked: the reply, which must come promptly."""
    replies: list[Any] = []

    async def long_poll() -> None:
        replies.append(await client.get(url, headers=bearer(token)))

    with trio.fail_after(PROMPTLY):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(long_poll)
            await waiting()
            await revoke(client, services, token)
    return replies[0]


async def test_revoking_the_token_ends_a_command_long_poll(
    client: Any, services: Services, mint: Any
) -> None:
    await register_orchestrator(client, "o1")
    token = mint(["command:read"], {"orchestrators": ["o1"]}, role="orchestrator")
    url = "/api/orchestrators/o1/commands?wait=30"
    reply = await _poll_until_revoked(
        client, services, token, url, trio.testing.wait_all_tasks_blocked
    )
    assert (reply.status_code, await reply.get_json()) == (401, {"error": "token revoked"})
    # What is queued after is the queue's still, not handed to the revoked token.
    command = await create_command(client, "o1")
    stored = await (await client.get(f"/api/commands/{command['id']}", headers=H)).get_json()
    assert stored["status"] == "queued"


async def test_revoking_the_token_ends_an_inbox_long_poll(
    client: Any, services: Services, mint: Any
) -> None:
    await setup_pair(client)
    token = mint(["message:read", "message:write"], {"agents": ["a2"]})
    url = "/api/agents/a2/inbox?wait=30"
    reply = await _poll_until_revoked(client, services, token, url, lambda: offered(services))
    assert (reply.status_code, await reply.get_json()) == (401, {"error": "token revoked"})
    await queue(client, "sent after the revocation")
    peek = await (await fetch(client, "?peek=true")).get_json()
    assert [(i["message"]["body"], i["state"]) for i in peek["items"]] == [
        ("sent after the revocation", "queued")
    ]


async def _mint_poller(client: Any, mint: Any, kind: str, ttl: int) -> tuple[str, str]:
    """A token living ``ttl`` s and the URL it long-polls (30 s): commands or an inbox."""
    if kind == "commands":
        await register_orchestrator(client, "o1")
        token = mint(["command:read"], {"orchestrators": ["o1"]}, role="orchestrator", ttl=ttl)
        return token, "/api/orchestrators/o1/commands?wait=30"
    await setup_pair(client)
    return mint(["message:read"], {"agents": ["a2"]}, ttl=ttl), "/api/agents/a2/inbox?wait=30"


@pytest.mark.parametrize("kind", ["commands", "inbox"])
async def test_a_long_poll_ends_when_its_token_expires(
    client: Any, mint: Any, mock_clock: trio.testing.MockClock, advance: Advance, kind: str
) -> None:
    token, url = await _mint_poller(client, mint, kind, ttl=5)
    replies: list[Any] = []

    async def long_poll() -> None:
        replies.append(await client.get(url, headers=bearer(token)))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(long_poll)
        await advance(4)
        assert replies == []
        await advance(1)
        await advance(0)  # until its reply is written
        nursery.cancel_scope.cancel()  # a poll still waiting fails below, not hangs
    assert replies, "the long-poll outlived its token"
    assert (replies[0].status_code, await replies[0].get_json()) == (
        401,
        {"error": "token expired"},
    )


@pytest.mark.parametrize("kind", ["commands", "inbox"])
async def test_a_long_poll_of_a_token_outliving_it_ends_at_its_wait(
    client: Any, mint: Any, mock_clock: trio.testing.MockClock, advance: Advance, kind: str
) -> None:
    # The expiry is not watched (it cannot come first): the wait ends by itself, 200.
    token, url = await _mint_poller(client, mint, kind, ttl=3600)
    replies: list[Any] = []

    async def long_poll() -> None:
        replies.append(await client.get(url, headers=bearer(token)))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(long_poll)
        await advance(29)
        assert replies == []
        await advance(2)
        await advance(0)
        nursery.cancel_scope.cancel()
    assert replies, "the long-poll outlived its wait"
    assert replies[0].status_code == 200


async def test_what_a_long_poll_took_as_its_token_was_revoked_is_handed_out(
    client: Any, services: Services, mint: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A revocation (``deny``, as DELETE /api/tokens/:jti or a runner token's renewal) lands
    as the inbox's hand-off comes back to the fetch: what was taken is handed out, as to a
    request made just before it. Refused, a message that needs no ack would be acked under
    a lease nobody received: lost."""
    await setup_pair(client)
    await queue(client, "the only copy")  # ackRequired false: a fetch acks it
    token = mint(["message:read", "message:write"], {"agents": ["a2"]})
    jti = services.auth.verify(token).jti
    original = inbox_flows._ask_or_offer

    async def racing(rt: Any, agent_id: str, message: Any) -> Any:
        handed = await original(rt, agent_id, message)
        deny(services.auth, rt, jti)  # DELETE /api/tokens/:jti, as the reply comes back
        return handed

    monkeypatch.setattr(inbox_flows, "_ask_or_offer", racing)
    reply = await fetch(client, "?wait=5", headers=bearer(token))
    monkeypatch.undo()
    assert reply.status_code == 200, await reply.get_data()
    items = (await reply.get_json())["items"]
    assert [i["message"]["body"] for i in items] == ["the only copy"]
    # The next request is refused: the revocation holds.
    refused = await fetch(client, "?wait=5", headers=bearer(token))
    assert refused.status_code == 401


async def test_a_handoff_claimed_as_the_token_is_revoked_is_not_lost(
    client: Any, services: Services, mint: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fetch waits with its offer standing, a send claims the offer (the delivery,
    ackRequired false, is written acked under the waiter's lease) and the token is revoked
    before that write's commit wakes the fetch. The wait is stopped, never cancelled: the
    fetch returns what it took, and the message is not acked under a lease nobody got."""
    await setup_pair(client)
    token = mint(["message:read", "message:write"], {"agents": ["a2"]})
    rt = services.runtime
    jti = services.auth.verify(token).jti
    trio_token = trio.lowlevel.current_trio_token()
    trio_thread = threading.get_ident()
    real_claim = rt.handoffs.claim

    def claim(key: str) -> Any:
        waiter = real_claim(key)
        if waiter is not None and key == "inbox:a2":
            # DELETE /api/tokens/:jti lands as the hand-off is claimed.
            if threading.get_ident() == trio_thread:
                deny(services.auth, rt, jti)
            else:
                trio.from_thread.run_sync(deny, services.auth, rt, jti, trio_token=trio_token)
        return waiter

    monkeypatch.setattr(rt.handoffs, "claim", claim)
    got: list[Any] = []

    async def poller() -> None:
        got.append(await fetch(client, "?wait=10", headers=bearer(token)))

    with trio.fail_after(15):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(poller)
            await offered(services)
            await queue(client, "the only copy")  # ackRequired false
    monkeypatch.undo()
    reply = got[0]
    handed: list[str] = []
    if reply.status_code == 200:
        handed = [i["message"]["body"] for i in (await reply.get_json())["items"]]
    again = await fetch(client, "?wait=0", headers=H)
    assert again.status_code == 200
    requeued = [i["message"]["body"] for i in (await again.get_json())["items"]]
    # Handed out to the poll, or (refused) still there for the next fetch: never lost.
    assert handed + requeued == ["the only copy"], (reply.status_code, handed, requeued)
