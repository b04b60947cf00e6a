"""Activity events: append (deduplicated on ``client_id``) and page through."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from tortoise.expressions import Q, RawSQL

from relay.domain.activity import ActivityEvent, ActivityInput
from relay.store import models
from relay.store.statements import InsertRow

_INSERT = InsertRow(models.ActivityEvent)


def _event(row: models.ActivityEvent) -> ActivityEvent:
    return ActivityEvent(
        id=row.id,
        kind=row.kind,
        title=row.title,
        client_id=row.client_id,
        body=row.body,
        meta=row.meta,
        icon=row.icon,
        view=row.view,
        agent_id=row.agent_id,
        metadata=dict(row.metadata or {}),
        created_at=row.created_at,
        orchestrator_id=row.orchestrator_id,
        path=row.path,
    )


# Views whose rows concern a host by nature: one that names no orchestrator (its
# workspace or agent gone before it could be told) is not the relay's own, and is read by
# no caller limited by orchestrator.
HOST_VIEWS = ("orchestrators", "commands")


async def _orchestrator_of(event: ActivityInput) -> str | None:
    """The orchestrator a row of an agent concerns, as stored now, in the row's own
    transaction: who may read the row is judged on it (``page``), never on where the agent
    is later. A row about a workspace or a lease names its orchestrator itself; nothing a
    caller posts (its metadata) is read to decide it."""
    if event.agent_id is None:
        return None
    agent = await models.Agent.get_or_none(id=event.agent_id).only("id", "orchestrator_id")
    return agent.orchestrator_id if agent is not None else None


async def append(event: ActivityInput, created_at: int) -> tuple[ActivityEvent, bool]:
    """Store the event; if its ``client_id`` is known, return the stored one. ``(event, created)``.

    Runs in the group-commit writer, which applies writes one at a time, so the
    look-up and the insert cannot interleave with another writer of this process;
    the unique index is the backstop across processes.
    """
    if event.client_id is not None:
        existing = await models.ActivityEvent.get_or_none(client_id=event.client_id)
        if existing is not None:
            return _event(existing), False
    orchestrator_id = event.orchestrator_id or await _orchestrator_of(event)
    values: dict[str, Any] = {
        "client_id": event.client_id,
        "kind": event.kind,
        "title": event.title,
        "body": event.body,
        "meta": event.meta,
        "icon": event.icon,
        "view": event.view,
        "agent_id": event.agent_id,
        "metadata": dict(event.metadata or {}),
        "created_at": created_at,
        "orchestrator_id": orchestrator_id,
        "path": event.path,
    }
    event_id = await _INSERT.run(values)
    return ActivityEvent(id=int(event_id), **values), True


def _heads(prefixes: Collection[str]) -> dict[str, RawSQL]:
    """For ``_within``: the start of ``path`` as long as each prefix and its slash.

    Compared with ``=``, which is exact in both stores, where SQLite's ``LIKE`` (tortoise's
    ``startswith``) ignores case: rows under ``/srv/TEAM`` filled a page for a token
    limited to ``/srv/team``, which a later exact test emptied, and a client catching up
    stopped there. The lengths are ints of ours, the compared text a bound parameter.
    """
    return {
        f"path_head_{i}": RawSQL(f"substr(path, 1, {len(p) + 1})") for i, p in enumerate(prefixes)
    }


def _within(prefixes: Collection[str]) -> Q:
    """Rows whose ``path`` lies within one of these (normalised) prefixes, component-wise,
    case and all (the query is annotated with ``_heads(prefixes)``)."""
    if "/" in prefixes:
        return Q(path__isnull=False)
    each = [Q(path=p) | Q(**{f"path_head_{i}": p + "/"}) for i, p in enumerate(prefixes)]
    return Q(*each, join_type="OR") if each else Q(id__lt=0)


async def page(
    *,
    view: str | None,
    agent_id: str | None,
    after: int | None,
    limit: int,
    agents: Collection[str] | None = None,
    orchestrators: Collection[str] | None = None,
    hidden_views: Collection[str] = (),
    unattributed_hidden_views: Collection[str] = (),
    reached: Collection[str] | None = None,
    reached_hosts: Collection[str] | None = None,
    paths: Collection[str] | None = None,
) -> list[ActivityEvent]:
    """Newest first; with ``after``, the events after that id in order (for catching up).

    ``agents`` (a token's agent constraint) keeps only events of those agents;
    ``orchestrators`` (its orchestrator constraint) only events of those orchestrators
    and the relay's own (no agent, no orchestrator, not of ``HOST_VIEWS``); ``reached``
    (for a token limited by path: the agents within its paths) keeps events naming no agent
    and those of these agents; ``reached_hosts`` (for the same token: the orchestrators
    whose ``baseDir`` lies within its paths) keeps events naming an agent, those naming no
    orchestrator (but of ``HOST_VIEWS``) and those of these, but a row the relay wrote about
    a place (a workspace's, a lease's ``path``) naming no agent is kept by that place alone,
    within ``paths`` (the same token's); events of ``hidden_views`` are left out, and those
    of ``unattributed_hidden_views`` that name no agent and no orchestrator.
    """
    query = models.ActivityEvent.all()
    if view:
        query = query.filter(view=view)
    if agent_id:
        query = query.filter(agent_id=agent_id)
    if agents is not None:
        query = query.filter(agent_id__in=list(agents))
    if reached is not None:
        query = query.filter(Q(agent_id__isnull=True) | Q(agent_id__in=list(reached)))
    if reached_hosts is not None:
        prefixes = list(paths or ())
        if "/" not in prefixes:
            query = query.annotate(**_heads(prefixes))
        # A host's row naming neither an agent nor a host nor a place cannot be judged by
        # path: withheld, as from a caller limited by host.
        not_a_hosts_row = Q(view__isnull=True) | ~Q(view__in=list(HOST_VIEWS))
        by_host = (Q(orchestrator_id__isnull=True) & not_a_hosts_row) | Q(
            orchestrator_id__in=list(reached_hosts)
        )
        query = query.filter(
            Q(agent_id__isnull=False)
            | (Q(path__isnull=False) & _within(prefixes))
            | (Q(path__isnull=True) & by_host)
        )
        # A row the relay wrote about a place outside the paths is withheld whoever it
        # names (its worktree is in its body): a row of an agent the caller reaches too.
        query = query.filter(Q(path__isnull=True) | _within(prefixes))
    if orchestrators is not None:
        relays_own = Q(orchestrator_id__isnull=True, agent_id__isnull=True) & (
            Q(view__isnull=True) | ~Q(view__in=list(HOST_VIEWS))
        )
        query = query.filter(Q(orchestrator_id__in=list(orchestrators)) | relays_own)
    if hidden_views:
        query = query.filter(Q(view__isnull=True) | ~Q(view__in=list(hidden_views)))
    if unattributed_hidden_views:
        # Spelled as what passes: a NOT over a NULL view would drop rows of no view too.
        query = query.filter(
            Q(agent_id__isnull=False)
            | Q(orchestrator_id__isnull=False)
            | Q(view__isnull=True)
            | ~Q(view__in=list(unattributed_hidden_views))
        )
    if after is not None:
        query = query.filter(id__gt=after).order_by("id")
    else:
        query = query.order_by("-id")
    return [_event(row) for row in await query.limit(limit)]
