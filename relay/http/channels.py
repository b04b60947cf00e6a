"""Command channels: long-poll and WebSocket push, for orchestrators and for agents.

Both hand out queued commands (marking them delivered) and wait on the target's
doorbell, which its actor rings when a command is queued. Over the WebSocket
the target also reports progress and outcomes:

    server → client  {"type": "command", "command": {...}}
    client → server  {"type": "status", "commandId": "...", "status": "running"|"succeeded"|
                      "failed", "result"?: ..., "error"?: "..."}
    server → client  {"type": "status-ok", "commandId": "...", "status": "..."} or
                     {"type": "error", "commandId": "...", "error": "..."}

The server closes a WebSocket channel with code 4401 (reason "token revoked" or
"token expired") when the token it was opened with is revoked (at once) or reaches its
``exp``, with 4000 + the HTTP status of the refusal when a take fails or its caller no
longer takes the target's queue (judged again after every take, as each long-poll is):
4403 "forbidden" (an agent moved to a host its token does not reach; for a constrained
caller, deleted too), 4404 (the target deleted, to a caller who may know), 4503 (the
store down); and with 1001 when the relay shuts down. Root and integration tokens do not
expire. (The 4xxx range is the application's; 4401 as HTTP's 401.)

A command's secrets (a spawn's runner token) reach only root and ``orchestrator``-role
takers (``receives_runner_tokens``); any other is handed them redacted.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import trio
from pydantic import ValidationError
from quart import Blueprint, websocket

from relay.actors import commands
from relay.actors.tokens.runner_tokens import receives_runner_tokens
from relay.domain.commands import TargetKind
from relay.errors import Forbidden, Invalid, RelayError, Unauthorized
from relay.http import responses
from relay.http.auth import principal, requires
from relay.http.command_auth import allow_command_report, allow_command_take
from relay.http.commands import PatchCommandBody
from relay.http.contract import int_param, responds
from relay.http.nul_guard import refuse_nul_in_body
from relay.http.orchestrator_auth import BaseDirs, stored_base_dirs
from relay.http.services import services
from relay.http.token_watch import until_token_ends
from relay.http.validation import describe, query_int
from relay.json_input import MalformedJSON, decode_json

bp = Blueprint("channels", __name__)
log = logging.getLogger("relay.channels")

MAX_WAIT_SECONDS = 60
WS_WAIT_SECONDS = 30
TOKEN_CLOSE_CODE = 4401
REFUSED_CLOSE_BASE = 4000


POLL_QUERY = (
    int_param("wait", 0, MAX_WAIT_SECONDS, "seconds to wait for a command when none is queued"),
    int_param("limit", 1, 500),
)


async def _long_poll(kind: TargetKind, target: str) -> list[dict[str, Any]]:
    await allow_command_take(kind, target)
    wait = query_int("wait", 0, low=0, high=MAX_WAIT_SECONDS)
    limit = query_int("limit", 50, low=1, high=500)
    rt = services().runtime
    try:
        # A wait ends with the token: a revoked one is handed nothing queued meanwhile.
        found = await until_token_ends(
            lambda stop: commands.take(rt, kind, target, wait_seconds=wait, limit=limit, stop=stop),
            wake=lambda: rt.doorbells.ring(target),
            took_nothing=lambda taken: not taken,
            longest=wait,
        )
    except Unauthorized:
        raise
    except RelayError as exc:  # as the channel answers it (``_refusal``)
        raise await _refusal(kind, target) or exc from None
    if found:
        # Judged again after a wait of up to a minute: the agent may have moved to a host
        # the token does not reach. What a refusal leaves delivered and unacknowledged is
        # redelivered at its ack deadline, to whoever takes the queue then.
        await allow_command_take(kind, target)
    redact = not receives_runner_tokens(principal())
    return [command.to_json(redact=redact) for command in found]


@bp.get("/api/orchestrators/<orchestrator_id>/commands")
@responds(list[responses.Command], query=POLL_QUERY)
@requires("command:read")
async def orchestrator_commands(orchestrator_id: str) -> list[dict[str, Any]]:
    return await _long_poll("orchestrator", orchestrator_id)


@bp.get("/api/agents/<agent_id>/commands")
@responds(list[responses.Command], query=POLL_QUERY)
@requires("command:read")
async def agent_commands(agent_id: str) -> list[dict[str, Any]]:
    return await _long_poll("agent", agent_id)


@bp.websocket("/api/orchestrators/<orchestrator_id>/channel")
@requires("command:read")
async def orchestrator_channel(orchestrator_id: str) -> None:
    await _channel("orchestrator", orchestrator_id)


@bp.websocket("/api/agents/<agent_id>/channel")
@requires("command:read")
async def agent_channel(agent_id: str) -> None:
    await _channel("agent", agent_id)


async def _channel(kind: TargetKind, target: str) -> None:
    # Read once for the connection: whether its caller is the orchestrator, judged when it
    # opens, decides its takes and its reports alike (no store read per report).
    base_dirs = await stored_base_dirs(principal())
    await allow_command_take(kind, target, base_dirs)
    rt = services().runtime
    # Fail before accepting: an unknown target is a 404, not an open socket that idles.
    await commands.take(rt, kind, target, wait_seconds=0, limit=0)
    await websocket.accept()
    log.info("channel_open kind=%s target=%s", kind, target)
    ended: list[str] = []
    refused: list[RelayError] = []
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_push, kind, target, refused, nursery.cancel_scope)
            claims = principal().claims
            if claims is not None:
                nursery.start_soon(
                    _end_with_token, claims.jti, claims.exp * 1000, ended, nursery.cancel_scope
                )
            await _receive(kind, target, base_dirs)
            nursery.cancel_scope.cancel()
        if ended:
            log.info("channel_signed_out kind=%s target=%s reason=%s", kind, target, ended[0])
            await websocket.close(TOKEN_CLOSE_CODE, ended[0])
        elif refused:
            log.info("channel_refused kind=%s target=%s reason=%s", kind, target, refused[0])
            await websocket.close(REFUSED_CLOSE_BASE + refused[0].status, refused[0].message)
        elif rt.draining.is_set():
            # "Going away": the target reconnects, to this relay once it is back.
            await websocket.close(1001, "relay is shutting down")
    finally:
        log.info("channel_closed kind=%s target=%s", kind, target)


async def _push(
    kind: TargetKind, target: str, refused: list[RelayError], channel: trio.CancelScope
) -> None:
    """Send commands as they are queued; once the relay drains, close the channel. After
    each take the caller's right to the queue is judged again from stored state, before
    anything is sent: an agent moved to another host since the channel opened is no longer
    this token's to work. What a refusal leaves delivered and unacknowledged is redelivered
    at its ack deadline, to whoever takes the queue then."""
    rt = services().runtime
    redact = not receives_runner_tokens(principal())
    while not rt.draining.is_set():
        try:
            found = await commands.take(rt, kind, target, wait_seconds=WS_WAIT_SECONDS)
        except RelayError as exc:  # the target deleted, the store down
            refused.append(await _refusal(kind, target) or exc)
            break
        if (refusal := await _refusal(kind, target)) is not None:
            refused.append(refusal)
            break
        for command in found:
            await websocket.send(
                json.dumps({"type": "command", "command": command.to_json(redact=redact)})
            )
    channel.cancel()  # after sending what the last take handed out


async def _refusal(kind: TargetKind, target: str) -> RelayError | None:
    """Why the caller no longer takes the target's queue, if it does not. Asked first when
    a take fails, so that a constrained caller is told 403, as a long-poll would answer
    it, rather than that the agent it no longer reaches was deleted."""
    try:
        await allow_command_take(kind, target)
    except RelayError as exc:
        return exc
    return None


async def _end_with_token(
    jti: str, expires_at_ms: int, ended: list[str], channel: trio.CancelScope
) -> None:
    """End the channel when its token is revoked (told by the revoke path) or expires."""
    svc = services()
    rt = svc.runtime
    revoked = trio.Event()
    with rt.events.watch_token(jti, revoked.set):
        if svc.auth.is_revoked(jti):  # revoked since the handshake authenticated it
            revoked.set()
        while not revoked.is_set():
            left = (expires_at_ms - rt.clock.now_ms()) / 1000
            if left <= 0:
                ended.append("token expired")
                channel.cancel()
                return
            with trio.move_on_after(left):
                await revoked.wait()
    ended.append("token revoked")
    channel.cancel()


async def _receive(kind: TargetKind, target: str, base_dirs: BaseDirs) -> None:
    while True:
        raw = await websocket.receive()
        try:
            message = decode_json(raw)
            refuse_nul_in_body(raw, message)  # as HTTP bodies: PostgreSQL cannot store U+0000
        except MalformedJSON as exc:
            error = "message is nested too deeply" if exc.too_deep else "invalid JSON message"
            await websocket.send(json.dumps({"type": "error", "error": error}))
            continue
        except Invalid as exc:
            await websocket.send(json.dumps({"type": "error", "error": exc.message}))
            continue
        if not isinstance(message, dict) or message.get("type") != "status":
            await websocket.send(json.dumps({"type": "error", "error": "unknown message type"}))
            continue
        command_id = str(message.get("commandId", ""))
        with trio.CancelScope(shield=True):  # the channel closing never cuts a report short
            reply = await _apply_report(kind, target, command_id, message, base_dirs)
        await websocket.send(json.dumps(reply))


async def _apply_report(
    kind: TargetKind, target: str, command_id: str, message: dict[str, Any], base_dirs: BaseDirs
) -> dict[str, Any]:
    """Apply one status message; the reply to send back."""
    rt = services().runtime
    try:
        body = PatchCommandBody.model_validate(message)

        async def authorize(command_kind: TargetKind, command_target: str) -> None:
            # A channel carries the reports of its own target's commands only.
            if (command_kind, command_target) != (kind, target):
                raise Forbidden("forbidden")
            await allow_command_report(
                command_kind, command_target, body.status, command_id, base_dirs
            )

        settlement = await commands.update(
            rt,
            command_id,
            body.status,
            result=body.result,
            error=body.error,
            authorize=authorize,
        )
    except ValidationError as exc:
        return {"type": "error", "commandId": command_id, "error": describe(exc.errors()[0])}
    except RelayError as exc:
        return {"type": "error", "commandId": command_id, "error": exc.message}
    return {"type": "status-ok", "commandId": command_id, "status": settlement.command.status}
