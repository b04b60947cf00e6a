"""The live event stream over Server-Sent Events, and its stream tickets.

``GET /api/events`` (scope ``activity:read``) sends ``id:`` (the stream id),
``event:`` (one of ``relay.events.EVENT_NAMES``) and one line of JSON ``data:``.

- ``Last-Event-ID`` (header, or ``?lastEventId=`` for clients that cannot set it):
  the events after that id are replayed from the log, in order, then the stream
  goes live with no gap and no duplicate (it subscribes *before* replaying and
  skips live ids it already sent). An id newer than the log (a log this relay no
  longer has) replays nothing.
- Events of a view need the scope of its routes (``relay.auth.views.VIEW_SCOPES``), and
  ``command`` and ``lease`` events ``command:read``, ``channel`` events ``message:read``,
  whatever their view (``EVENT_SCOPES``), live and on replay.
- ``?view=V``: only events published with view ``V``; ``?agentId=X``: only events of
  agent ``X`` (403 if the token's constraints do not cover ``X``). Both: both.
- A token with an ``agents`` constraint sees only those agents' events; events tied
  to no agent are withheld from it. Security audits (view ``security``) are withheld
  from callers without ``token:admin``, and those naming no agent and no orchestrator
  (token audits) from every constrained caller. ``GET /api/activity`` filters the same way.
- An ``orchestrator`` event's card lists in ``managedAgents`` only the sessions of agents
  the caller reads, as ``GET /api/orchestrators/:id`` serves it (the guard's ``redact``),
  on replay too.
- ``memory`` events (never a body, nor a secret's title) reach only callers the memory
  visibility rules let see that memory (``relay.actors.memory.events``), on replay too.
- A ``: keep-alive`` comment after ``RELAY_SSE_KEEPALIVE_SECONDS`` of silence.
- Events of a burst share one write: the hub hands committed events over at most every
  ``RELAY_SSE_BATCH_WINDOW_SECONDS`` (default 25 ms, longer with many clients: see
  ``relay.events.FAN_OUT_WRITES_PER_SECOND``), as one batch per distinct filter whose
  bytes every such client writes as they are; under load, the cost of a write, not of
  an event, is what limits the fan-out.
- A client too slow to keep ``RELAY_SSE_CLIENT_BUFFER`` events buffered is dropped:
  its stream ends and it reconnects with ``Last-Event-ID``.
- ``event: presence`` (no ``id``): at most once a second, the agents' ``lastSeenAt`` and
  orchestrators' ``lastHeartbeatAt`` that moved since this stream's previous presence
  frame, filtered like the stream's ``agent``/``orchestrator`` events; never replayed.
- ``event: signed-out`` (no ``id``), data ``{"reason": "token revoked"|"token expired"}``,
  then the stream ends: the stream's token was revoked (at once) or reached its ``exp``,
  during a replay too (no page is sent once it has).
  Root and integration-token streams do not end this way.

Authentication: the ``Authorization`` header, or ``?ticket=`` from
``POST /api/events/ticket`` (browsers' ``EventSource`` cannot send headers).

Quart's own streaming response (an async generator body, ``timeout = None``) is all
SSE needs here: the framing is three lines per event.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from functools import partial, wraps
from typing import Any, TypeVar, cast

import trio
from quart import Blueprint, Response, current_app, g, request

from relay.actors import memory
from relay.actors.memory import Redactor
from relay.actors.memory.events import MemoryEvents
from relay.actors.memory.events import replayed as replayed_memory
from relay.actors.memory.rules import MEMORY_VIEW
from relay.actors.messaging import MessageEvents
from relay.actors.messaging.events import VIEW as MESSAGE_VIEW
from relay.actors.pairs import PairEvents
from relay.auth.access import Principal, authorize, visible_agents
from relay.auth.tokens import check_expiry
from relay.auth.views import PAIRS_VIEW, hidden_events, hidden_views
from relay.clock import Clock
from relay.errors import Invalid, Unauthorized, Unavailable
from relay.events import (
    SIGNED_OUT_EXPIRED,
    SIGNED_OUT_REVOKED,
    Batch,
    Ephemeral,
    EventHub,
    StreamCredential,
    StreamFilter,
    encode_frame,
)
from relay.http import responses
from relay.http.auth import (
    SCOPE_ATTRIBUTE,
    allow_agent,
    memory_caller,
    principal,
    requires,
)
from relay.http.contract import Media, responds, str_param
from relay.http.event_guard import ConstrainedEvents
from relay.http.orchestrator_auth import stored_base_dirs
from relay.http.services import services
from relay.http.stream_tickets import TicketBook
from relay.http.validation import query_str
from relay.store import stream as stream_store
from relay.store.stream import StreamEvent
from relay.store.thread import StoreThread

bp = Blueprint("events", __name__)
log = logging.getLogger("relay.events")

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

SCOPE = "activity:read"
TICKETS = "relay.stream_tickets"

OPENING = b"retry: 3000\n: connected\n\n"
KEEP_ALIVE = b": keep-alive\n\n"
REPLAY_PAGE = 500
MAX_CHUNK_EVENTS = 256

SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # proxies: don't hold frames back
}


def tickets() -> TicketBook:
    """This app's ticket book (created on first use)."""
    book = current_app.extensions.get(TICKETS)
    if book is None:
        rt = services().runtime
        book = TicketBook(rt.clock, ttl_seconds=rt.settings.stream_ticket_seconds)
        current_app.extensions[TICKETS] = book
    return cast(TicketBook, book)


def header_or_ticket(scope: str) -> Callable[[F], F]:
    """Like ``requires``, but a request without ``Authorization`` may show a ``?ticket=``."""

    def decorator(view: F) -> F:
        @wraps(view)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization")
            ticket = request.args.get("ticket")
            caller: Principal
            if header is None and ticket:
                caller = tickets().redeem(ticket)
                auth = services().auth
                if caller.jti is not None and auth.is_revoked(caller.jti):
                    raise Unauthorized("unauthorized")
                if caller.claims is not None:  # the token may have expired since the ticket
                    check_expiry(caller.claims, now_s=auth.now_s())
            else:
                caller = services().auth.authenticate(header)
            authorize(caller, scope)
            g.principal = caller
            g.scope = scope
            return await view(*args, **kwargs)

        setattr(wrapper, SCOPE_ATTRIBUTE, scope)
        return cast(F, wrapper)

    return decorator


@bp.post("/api/events/ticket")
@responds({201: responses.StreamTicket})
@requires(SCOPE)
async def issue_ticket() -> tuple[dict[str, Any], int]:
    ticket, expires_at = tickets().issue(principal())
    return {"ticket": ticket, "expiresAt": expires_at}, 201


async def caller_filter(view: str | None = None, agent_id: str | None = None) -> StreamFilter:
    """What the caller reads of the stream (and of any stored event it is handed): its
    views, its agents and the guard of its constraints, live and on replay alike."""
    caller = principal()
    rt = services().runtime
    hidden = hidden_views(caller)
    memory_guard = None if MEMORY_VIEW in hidden else await memory_events_guard()
    # Message, delivery and pair events reach who reads their records (withheld with their
    # views).
    then = (
        memory_guard
        if MESSAGE_VIEW in hidden
        else MessageEvents.of(caller, memory_guard, rt.agents)
    )
    guarded: frozenset[str] = frozenset()
    if PAIRS_VIEW not in hidden:
        then = PairEvents.of(caller, then, rt.agents)
        # Pair events are judged by PairEvents, not by ``agents``; the view's activity rows
        # by ``agents`` and the guard, as the feed reads them.
        guarded = frozenset({"pair"})
    return StreamFilter(
        view=view,
        agent_id=agent_id,
        agents=visible_agents(caller),
        hidden_views=hidden,
        guarded_events=guarded,
        hidden_events=hidden_events(caller),
        guard=ConstrainedEvents.of(
            caller,
            then,
            rt.agents,
            await stored_base_dirs(caller),
            rt.routing,
        ),
    )


@bp.get("/api/events")
@responds(
    Media(
        "text/event-stream",
        "the event stream (server-sent events): stored events with an id, and two id-less "
        "frames never replayed: presence ({agents: {id: lastSeenAt}, orchestrators: "
        "{id: lastHeartbeatAt}}, at most once a second) and signed-out ({reason: 'token "
        "revoked' | 'token expired'}, then the stream ends)",
    ),
    query=(str_param("agentId", 200), str_param("view", 64), str_param("ticket", 200)),
)
@header_or_ticket(SCOPE)
async def stream_events() -> Response:
    agent_id = query_str("agentId", max_length=200)
    if agent_id is not None:
        await allow_agent(agent_id)  # and the orchestrator it is stored under, as /api/activity
    stream_filter = await caller_filter(query_str("view", max_length=64), agent_id)
    rt = services().runtime
    claims = principal().claims
    frames = stream_frames(
        rt.events,
        rt.store,
        stream_filter,
        last_event_id=_last_event_id(),
        keepalive_seconds=rt.settings.sse_keepalive_seconds,
        buffer=rt.settings.sse_client_buffer,
        credential=(
            StreamCredential(claims.jti, claims.exp * 1000) if claims is not None else None
        ),
        clock=rt.clock,
        is_revoked=services().auth.is_revoked,
        redactor=memory.redactor(rt),
    )
    response = Response(frames, 200, SSE_HEADERS)
    response.timeout = None  # a stream has no end to wait for
    return response


async def memory_events_guard() -> MemoryEvents | None:
    """The ``memory`` events this stream may carry: those of memories the caller sees, as
    every memory route judges it, with whom it acts for judged per event where its agents
    are stored then (``MemoryEvents``); every one for an unconstrained operator (no
    guard)."""
    caller = principal()
    return MemoryEvents.for_viewer(caller, await memory_caller(), services().runtime.agents)


def _last_event_id() -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.args.get("lastEventId")
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise Invalid("Last-Event-ID must be an integer") from None
    if value < 0:
        raise Invalid("Last-Event-ID must be an integer")
    return value


async def stream_frames(
    hub: EventHub,
    store: StoreThread,
    stream_filter: StreamFilter,
    *,
    last_event_id: int | None,
    keepalive_seconds: float,
    buffer: int,
    credential: StreamCredential | None = None,
    clock: Clock | None = None,
    is_revoked: Callable[[str], bool] | None = None,
    redactor: Redactor | None = None,
) -> AsyncGenerator[bytes, None]:
    """The body of one SSE response: subscribe, replay after ``last_event_id``, go live.

    With a ``credential`` (and the ``clock`` its ``exp`` is read on) the stream ends with
    ``signed-out`` when the token is revoked or expires. With a ``redactor`` (the memory
    redaction list of now) replayed memory events are shown through it.
    """
    with hub.subscribe(stream_filter, buffer=buffer, credential=credential) as subscription:

        def signed_out() -> Ephemeral | None:
            """Why the stream must end now, asked of the token itself: the hub's call on
            a revocation comes later (or came before there was a stream to end)."""
            if subscription.last_frame is not None:
                return subscription.last_frame
            if credential is None:
                return None
            if is_revoked is not None and is_revoked(credential.jti):
                return SIGNED_OUT_REVOKED
            if clock is not None and clock.now_ms() >= credential.expires_at_ms:
                return SIGNED_OUT_EXPIRED
            return None

        yield OPENING
        if (ended := signed_out()) is not None:
            yield ended.frame
            return
        # Without Last-Event-ID the stream starts now, not with what the hub still held
        # back (batch window) from before the client subscribed.
        cursor = subscription.start_id
        if last_event_id is not None:
            try:
                # Read after subscribing: whatever commits later is in the subscription.
                newest = await store.run(stream_store.last_id)
                # An id newer than the log's is from a log this relay no longer has.
                cursor = min(last_event_id, newest)
                while last_event_id <= newest:
                    # A replay may be days of log: a token revoked or expired meanwhile is
                    # sent none of it from then on, as the live stream.
                    if (ended := signed_out()) is not None:
                        yield ended.frame
                        return
                    page = await store.run(_replay_query(stream_filter, cursor))
                    if (ended := signed_out()) is not None:
                        yield ended.frame
                        return
                    if page:
                        cursor = page[-1].id
                    # The SQL filter has no view of an event's content: the guard's turn
                    # (and its redaction, as the live fan-out's).
                    sent = stream_filter.shown(page)
                    if redactor is not None:
                        sent = [replayed_memory(event, redactor) for event in sent]
                    if sent:
                        hub.stats.frames_sent += len(sent)
                        yield b"".join(encode_frame(event) for event in sent)
                    if len(page) < REPLAY_PAGE:
                        break
            except Unavailable:
                log.warning("sse_replay_failed reason=store-timeout after=%d", cursor)
                return  # the client reconnects with its Last-Event-ID
        while True:
            wait = keepalive_seconds
            if credential is not None and clock is not None:
                left = (credential.expires_at_ms - clock.now_ms()) / 1000
                if left <= 0:
                    yield SIGNED_OUT_EXPIRED.frame
                    return
                wait = min(wait, left)
            try:
                # A deadline, not a cancel scope: one scope per batch written was a tenth
                # of the server with 500 streams (relay.stream_timer).
                items = await subscription.receive_chunks(
                    MAX_CHUNK_EVENTS, deadline=trio.current_time() + wait
                )
            except trio.EndOfChannel:
                # Dropped as slow, the relay is stopping, or the token was revoked.
                if subscription.last_frame is not None:
                    yield subscription.last_frame.frame
                return
            if not items:
                if credential is None or clock is None or clock.now_ms() < credential.expires_at_ms:
                    yield KEEP_ALIVE
                continue
            chunk: list[bytes] = []
            for item in items:
                if not isinstance(item, Batch):
                    chunk.append(item.frame)  # no id: nothing to skip, the cursor stays
                elif item.first_id > cursor:
                    # The usual case: the batch's shared bytes, as they are.
                    cursor = item.last_id
                    hub.stats.frames_sent += len(item)
                    chunk.append(item.chunk)
                else:  # overlaps the replay: skip the ids already sent
                    for delivery in item.deliveries:
                        if delivery.event.id > cursor:
                            cursor = delivery.event.id
                            hub.stats.frames_sent += 1
                            chunk.append(delivery.frame)
            if len(chunk) == 1:
                yield chunk[0]
            elif chunk:
                yield b"".join(chunk)


def _replay_query(
    stream_filter: StreamFilter, after_id: int
) -> Callable[[], Awaitable[list[StreamEvent]]]:
    """The store job for one page of logged events after ``after_id`` that pass the filter."""
    return partial(
        stream_store.after,
        after_id,
        view=stream_filter.view,
        agent_id=stream_filter.agent_id,
        agents=stream_filter.agents,
        hidden_views=stream_filter.hidden_views,
        guarded_events=stream_filter.guarded_events,
        hidden_events=stream_filter.hidden_events,
        limit=REPLAY_PAGE,
    )
