"""A request that waits (a long-poll) ends when the token it was made with does.

Revocation takes effect on the very next request, and a stream or a command channel opened
with the token ends at once; a long-poll waits up to a minute, then hands out what was
queued meanwhile (a command marked delivered, a message leased or acked). Its wait runs
under ``until_token_ends``: the revoke path (``EventHub.watch_token``) or the token's
expiry stops it. Stopped, not cancelled: a wait cancelled as a hand-off was claimed would
leave that hand-off taken by nobody (a message that needs no ack, acked and lost). The wait
sees the stop at its next wake (``wake`` rings its doorbell) and returns what it holds;
having taken nothing, the request is answered 401.

The expiry is watched only when it can come before the wait ends (``longest``): a
nursery and a sleeping task per long-poll cost a fetch about 100 µs of the trio thread
here, a fifth of a ``/healthz`` request, and nearly every token outlives the minute a wait
may last.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import trio

from relay.errors import Unauthorized
from relay.http.auth import principal
from relay.http.services import services

T = TypeVar("T")

# How much longer than its ``longest`` a wait may take to hand out what it holds once its
# deadline passes (store round trips, a command long-poll's spread of up to half a second):
# an expiry within it is watched.
_OVERRUN_SECONDS = 5.0


async def until_token_ends(
    wait: Callable[[trio.Event], Awaitable[T]],
    *,
    wake: Callable[[], None],
    took_nothing: Callable[[T], bool],
    longest: float,
) -> T:
    """``wait(stop)``, with ``stop`` set (and ``wake()`` called) once the caller's token is
    revoked or expires. ``longest``: the seconds after which ``wait`` returns by itself.
    What it returns is handed out; if it took nothing after a stop, 401 ``token revoked`` /
    ``token expired``. Root's and integration tokens (no claims) never end so."""
    stop = trio.Event()
    claims = principal().claims
    if claims is None:
        return await wait(stop)
    svc = services()
    rt = svc.runtime
    ended: list[str] = []

    def end(reason: str) -> None:
        if not stop.is_set():
            ended.append(reason)
            stop.set()
            wake()

    with rt.events.watch_token(claims.jti, lambda: end("token revoked")):
        if svc.auth.is_revoked(claims.jti):  # revoked since the request was authenticated
            raise Unauthorized("token revoked")
        left = (claims.exp * 1000 - rt.clock.now_ms()) / 1000
        if left > longest + _OVERRUN_SECONDS:
            result = await wait(stop)  # the wait ends before the token does
        else:
            result = await _until_expiry(wait, stop, left, end)
    if ended and took_nothing(result):
        raise Unauthorized(ended[0])
    return result


async def _until_expiry(
    wait: Callable[[trio.Event], Awaitable[T]],
    stop: trio.Event,
    left: float,
    end: Callable[[str], None],
) -> T:
    async with trio.open_nursery() as nursery:

        async def expire() -> None:
            await trio.sleep(max(left, 0))
            end("token expired")

        nursery.start_soon(expire)
        result = await wait(stop)
        nursery.cancel_scope.cancel()
    return result
