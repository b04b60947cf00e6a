"""What the memory broker reads: an agent's live repo roots and its coarse candidates.

SQL narrows (scopes, ``normal``, not ``blocked``, shared or the agent's own, and with a
query the rows where some term or pinned tag may occur); the broker's rules then decide
exactly on the text as redacted for output, the same code on every backend.
"""

from __future__ import annotations

from collections.abc import Sequence

from tortoise.expressions import Q

from relay.domain.memory import Memory
from relay.store import models
from relay.store.memory import _memory  # one row → dataclass mapping for the whole table

# A workspace in one of these no longer ties its agent to the repository.
ENDED_STATUSES = ("merged", "abandoned", "cleanup_requested", "cleaned")


async def live_repo_roots(agent_id: str) -> list[str]:
    """The repo roots of the agent's workspaces that have not ended (sorted, distinct)."""
    roots = (
        await models.Workspace.filter(agent_id=agent_id)
        .exclude(status__in=ENDED_STATUSES)
        .values_list("repo_root", flat=True)
    )
    return sorted({str(root) for root in roots})


async def candidates(
    agent_id: str,
    repo_roots: Sequence[str],
    *,
    terms: Sequence[str],
    pinned_tags: Sequence[str],
) -> list[Memory]:
    """A superset of the broker's candidates, in id order. With ``terms`` (lower-cased),
    only rows where one may occur, or that carry a pinned tag (served query or not)."""
    scopes = Q(scope="global") | Q(scope="agent", scope_key=agent_id)
    if repo_roots:
        scopes |= Q(scope="repo", scope_key__in=list(repo_roots))
    qs = (
        models.Memory.filter(scopes, sensitivity="normal")
        .exclude(redaction_state="blocked")
        .filter(Q(visibility="shared") | Q(created_by=agent_id))
    )
    if terms:
        wanted = [Q(search_text__contains=term) for term in terms]
        wanted += [Q(search_tags__contains=f"\n{tag.lower()}\n") for tag in pinned_tags]
        qs = qs.filter(Q(*wanted, join_type="OR"))
    rows = await qs.order_by("id")
    return [_memory(row) for row in rows]
