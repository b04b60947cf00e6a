"""Activity routes: post an event (deduplicated on clientId) and read the feed."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from quart import Blueprint
from quart_schema import document_request

from relay.actors.runtime.audit import audit
from relay.auth.access import (
    Principal,
    hidden_feed_views,
    normalise_path,
    visible_agents,
    visible_orchestrators,
)
from relay.auth.views import hidden_views, unattributed_hidden_views
from relay.crossing import wait_future
from relay.domain.activity import ActivityInput
from relay.errors import Conflict, Forbidden, NotFound
from relay.http import responses
from relay.http.auth import (
    agent_placements,
    agents_within_paths,
    allow_agent,
    hosts_within_paths,
    principal,
    requires,
)
from relay.http.contract import int_param, responds, str_param
from relay.http.events import caller_filter
from relay.http.services import services
from relay.http.validation import Body, parse_body, query_int, query_str
from relay.store import activity as activity_store
from relay.store.stream import StreamEvent

bp = Blueprint("activity", __name__)


class ActivityBody(Body):
    client_id: str | None = Field(default=None, min_length=1, max_length=200)
    kind: str = Field(default="note", min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=1000)
    body: str | None = Field(default=None, max_length=100_000)
    meta: str | None = Field(default=None, max_length=1000)
    icon: str | None = Field(default=None, max_length=64)
    view: str | None = Field(default=None, max_length=64)
    agent_id: str | None = Field(default=None, max_length=200)
    metadata: dict[str, Any] = Field(default_factory=dict)


@bp.post("/api/activity")
@responds({201: responses.ActivityEvent, 200: responses.ActivityEvent}, errors=(404, 409))
@document_request(ActivityBody)
@requires("activity:write")
async def post_activity() -> tuple[dict[str, Any], int]:
    body = await parse_body(ActivityBody)
    caller = principal()
    if body.view is not None and body.view in hidden_views(caller):
        # A view it may not read (the security view's token audits): it may not write
        # rows that its readers take for the relay's own either.
        raise Forbidden("forbidden")
    orchestrator_id = await _author_host(caller, body.agent_id)
    event_input = ActivityInput(
        client_id=body.client_id,
        kind=body.kind,
        title=body.title,
        body=body.body,
        meta=body.meta,
        icon=body.icon,
        view=body.view,
        agent_id=body.agent_id,
        metadata=body.metadata,
        orchestrator_id=orchestrator_id,
    )
    rt = services().runtime
    event, created = await wait_future(
        audit(rt, event_input), timeout=rt.settings.store_timeout_seconds, what="store"
    )
    row = event.to_json()
    if not created:
        # A known clientId answers with the stored row, which may be another's: only to a
        # caller that reads it, as the feed and the stream would hand it over.
        stored = StreamEvent(0, "activity", row, event.view, event.agent_id, event.created_at)
        if not (await caller_filter()).passes(stored):
            raise Conflict("clientId is already taken")
    return row, 201 if created else 200


async def _author_host(caller: Principal, agent_id: str | None) -> str | None:
    """Whose row a post is, as readers judge it. A row naming no agent and no host is the
    relay's own, which every reader sees: a constrained caller's row names the agent it
    posts about (stored, and one it reaches) or is its one host's; else 403."""
    if agent_id is not None:
        await allow_agent(agent_id)  # and the orchestrator it is registered under
        if caller.constrained and agent_id not in await agent_placements([agent_id]):
            # Not on an id nobody holds yet: whoever registers it would inherit the row.
            raise NotFound("agent not found")
        return None  # stored as the agent's orchestrator at the time (``activity.append``)
    if not caller.constrained:
        return None
    hosts = caller.constraints.get("orchestrators", ())
    if len(hosts) == 1:
        # A path-limited caller reads a host's rows by its baseDir (a host's own runtime
        # token: its paths are it); one whose paths do not cover it could not read back,
        # nor repeat, its own row: it names its agent instead.
        within = await hosts_within_paths()
        if within is None or hosts[0] in within:
            return hosts[0]
    raise Forbidden("a constrained token's activity must name its agentId")


@bp.get("/api/activity")
@responds(
    list[responses.ActivityEvent],
    query=(
        str_param("view"),
        str_param("agentId", 200),
        int_param("after", 0, 2**62),
        int_param("limit", 1, 1000),
    ),
)
@requires("activity:read")
async def get_activity() -> list[dict[str, Any]]:
    view = query_str("view", max_length=64)
    agent_id = query_str("agentId", max_length=200)
    if agent_id is not None:
        await allow_agent(agent_id)
    after = query_int("after", -1, low=0, high=2**62) if query_str("after") else None
    limit = query_int("limit", 100, low=1, high=1000)
    caller = principal()
    # As /api/events filters (its guard judges the messages view's rows one by one).
    agents, hidden = visible_agents(caller), hidden_feed_views(caller)
    reached = await agents_within_paths()  # as the stream's guard judges by path
    reached_hosts = await hosts_within_paths()
    paths = caller.path_limit
    events = await services().runtime.store.run(
        lambda: activity_store.page(
            view=view,
            agent_id=agent_id,
            after=after,
            limit=limit,
            agents=agents,
            orchestrators=visible_orchestrators(caller),
            hidden_views=hidden,
            unattributed_hidden_views=unattributed_hidden_views(caller),
            reached=reached,
            reached_hosts=reached_hosts,
            # Normalised as the places are (``place_of``): the store compares them exactly.
            paths=None if paths is None else [normalise_path(p) for p in paths],
        )
    )
    return [event.to_json() for event in events]
