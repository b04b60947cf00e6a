"""Channel routes (messaging.md "Channels"): channels, their bindings, and the dry-run route.

Named apart from ``http/channels.py``, which holds the orchestrators' command channels.
Writes need ``config:write``; reads, the dry run included, ``message:read``. A binding that
names an agent decides where that agent's messages come from: adding or removing one also
needs a caller whose constraints cover the agent (``allow_agent``, on the stored binding
when removing); a constrained caller may not bind an agent that is not registered yet.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from quart import Blueprint
from quart_schema import document_request

from relay.actors import channels
from relay.auth.access import Resource
from relay.domain.channels import (
    CHANNEL_ID_PATTERN,
    DESCRIPTION_MAX_LENGTH,
    TARGET_MAX_LENGTH,
    BindingMode,
    BindingSpec,
    Direction,
    TargetType,
)
from relay.errors import Forbidden, NotFound
from relay.http import responses
from relay.http.auth import (
    agent_orchestrators,
    agent_placements,
    allow,
    allow_acting_for,
    allow_agent,
    allow_relay_wide,
    can_see_agent,
    principal,
    requires,
)
from relay.http.contract import responds, str_param
from relay.http.services import services
from relay.http.validation import Body, parse_body, query_str
from relay.store import agents as agent_store

bp = Blueprint("message_channels", __name__)


class CreateChannelBody(Body):
    id: str = Field(min_length=1, max_length=64, pattern=CHANNEL_ID_PATTERN)
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX_LENGTH)


class CreateBindingBody(Body):
    mode: BindingMode
    target_type: TargetType
    target: str = Field(min_length=1, max_length=TARGET_MAX_LENGTH)
    direction: Direction = "both"


@bp.post("/api/channels")
@responds({201: responses.Channel}, errors=(409,))
@document_request(CreateChannelBody)
@requires("config:write")
async def create_channel() -> tuple[dict[str, Any], int]:
    body = await parse_body(CreateChannelBody)
    channel = await channels.create_channel(
        services().runtime, body.id, body.description, principal().sub
    )
    return channel.to_json(), 201


@bp.get("/api/channels")
@responds(list[responses.ChannelSummary])
@requires("message:read")
async def list_channels() -> list[dict[str, Any]]:
    return [summary.to_json() for summary in await channels.list_channels(services().runtime)]


@bp.get("/api/channels/<channel_id>")
@responds(responses.ChannelWithBindings)
@requires("message:read")
async def get_channel(channel_id: str) -> dict[str, Any]:
    state = await channels.get_channel(services().runtime, channel_id)
    return {**state.channel.to_json(), "bindings": [b.to_json() for b in state.bindings]}


@bp.delete("/api/channels/<channel_id>")
@responds(responses.DeletedChannel)
@requires("config:write")
async def delete_channel(channel_id: str) -> dict[str, Any]:
    rt, caller = services().runtime, principal()
    removable: frozenset[str] | None = None
    if caller.constraints:
        # Deleting a channel removes its bindings: a constrained caller only one whose
        # every binding it could remove itself.
        state = await channels.get_channel(rt, channel_id)
        for binding in state.bindings:
            await _allow_binding_target(binding.target_type, binding.target)
        removable = frozenset(b.id for b in state.bindings)
    channel = await channels.delete_channel(rt, channel_id, caller.sub, removable)
    return {"ok": True, "id": channel.id}


@bp.get("/api/channels/<channel_id>/bindings")
@responds(list[responses.ChannelBinding])
@requires("message:read")
async def list_bindings(channel_id: str) -> list[dict[str, Any]]:
    state = await channels.get_channel(services().runtime, channel_id)
    return [binding.to_json() for binding in state.bindings]


@bp.post("/api/channels/<channel_id>/bindings")
@responds({201: responses.ChannelBinding}, errors=(409,))
@document_request(CreateBindingBody)
@requires("config:write")
async def add_binding(channel_id: str) -> tuple[dict[str, Any], int]:
    body = await parse_body(CreateBindingBody)
    await _allow_binding_target(body.target_type, body.target)
    spec = BindingSpec(body.mode, body.target_type, body.target, body.direction)
    binding = await channels.add_binding(services().runtime, channel_id, spec, principal().sub)
    return binding.to_json(), 201


@bp.delete("/api/channels/<channel_id>/bindings/<binding_id>")
@responds(responses.ChannelBinding)
@requires("config:write")
async def remove_binding(channel_id: str, binding_id: str) -> dict[str, Any]:
    state = await channels.get_channel(services().runtime, channel_id)
    for stored in state.bindings:
        if stored.id == binding_id:  # a binding's target never changes: checked as stored
            await _allow_binding_target(stored.target_type, stored.target)
    binding = await channels.remove_binding(
        services().runtime, channel_id, binding_id, principal().sub
    )
    return binding.to_json()


async def _allow_binding_target(target_type: TargetType, target: str) -> None:
    """403 unless the caller's constraints cover every agent the binding can match: an
    ``agent`` binding's agent, as stored. A ``label``, ``tag`` or ``capability`` binding
    matches agents by what they say of themselves, any owner's, so it is for callers
    without constraints only."""
    if target_type != "agent":
        allow_relay_wide()
        return
    await allow_agent(target)
    if principal().constraints and target not in await agent_orchestrators([target]):
        # Not registered: a deleted agent's id is its orchestrator's to take again (its
        # tombstone), so the binding is judged by that orchestrator; an id never taken,
        # or taken under none, may become any owner's, and no constrained caller covers it.
        deleted, owner = await services().runtime.store.run(lambda: agent_store.tombstone(target))
        if not deleted or owner is None:
            raise Forbidden("forbidden")
        allow(Resource(orchestrator_id=owner))


async def _may_send_as(sender: str | None) -> bool:
    """Whether the caller may send as ``sender``: ``message:write`` and the one check of
    messaging (``allow_acting_for``)."""
    if sender is None or not principal().has_scope("message:write"):
        return False
    try:
        await allow_acting_for(sender)
    except (Forbidden, NotFound):
        return False
    return True


@bp.get("/api/channels/<channel_id>/route")
@responds(
    responses.ChannelRoute,
    query=(str_param("from", 200, description="the sender, never a target"),),
)
@requires("message:read")
async def dry_run(channel_id: str) -> dict[str, Any]:
    sender = query_str("from", max_length=200)
    route = await channels.channel_route(services().runtime, channel_id, sender)
    targets = route.targets
    if principal().constrained and not await _may_send_as(sender):
        # The prediction names only agents the caller reads where they are stored (as
        # ``GET /api/agents`` lists them): a read-only token learns no other host's agents.
        # One that may send as ``from`` is shown whom its send reaches, as its send's
        # deliveries would show it.
        places = await agent_placements({t.agent_id for t in targets})
        targets = [
            t
            for t in targets
            if t.agent_id in places and can_see_agent(t.agent_id, places[t.agent_id])
        ]
    return {"channelId": channel_id, "targets": [t.to_json() for t in targets]}
