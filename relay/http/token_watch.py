"""A request that waits (a long-poll) ends when the token it was made with does.

Revocation takes effect on the very next request, and a stream or a command channel opened
with the token ends at once; a long-poll waits up to a minute, then hands out what was
queued meanwhile (a command marked delivered, a message leased or acked). Its wait runs
under ``until_token_ends``: the revoke path (``EventHub.watch_token``) or the token's
expiry cancels it while nothing is taken, and the request is answered 401; what a wait had
taken as the token ended is handed out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import trio

from relay.errors import Unauthorized
from relay.http.auth import principal
from relay.http.services import services

T = TypeVar("T")


async def until_token_ends(wait: Callable[[], Awaitable[T]]) -> T:
    """``wait()``, cancelled if the caller's token is revoked or expires while it waits:
    then 401 ``token revoked`` / ``token expired``; once it has returned, its result.
    Root's and integration tokens (no claims) never end so: ``wait()`` runs as it is."""
    claims = principal().claims
    if claims is None:
        return await wait()
    svc = services()
    rt = svc.runtime
    revoked = trio.Event()
    outcome: list[T] = []
    with rt.events.watch_token(claims.jti, revoked.set):
        if svc.auth.is_revoked(claims.jti):  # revoked since the request was authenticated
            raise Unauthorized("token revoked")
        left = (claims.exp * 1000 - rt.clock.now_ms()) / 1000
        with trio.move_on_after(max(left, 0)) as expiry:
            async with trio.open_nursery() as nursery:

                async def end_when_revoked() -> None:
                    await revoked.wait()
                    nursery.cancel_scope.cancel()

                nursery.start_soon(end_when_revoked)
                outcome.append(await wait())
                nursery.cancel_scope.cancel()
    if outcome:
        # Taken before the revocation or expiry ended the wait (a hand-off committed as it
        # landed): handed out, as to a request made just before it. Refusing now would
        # leave it taken by nobody: a message acked on fetch lost, a command delivered.
        return outcome[0]
    if revoked.is_set() or not expiry.cancelled_caught:
        raise Unauthorized("token revoked")
    raise Unauthorized("token expired")
