"""Who sees and who writes a memory (spec/memory.md, "Shape and who sees what").

Pure rules over a ``Viewer``: an operator, or the agents a caller acts for (resolved from
stored state by the HTTP layer) and its ``cwd`` constraint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Literal

from relay.domain.memory import Memory, Redaction, Scope, Viewer
from relay.errors import Forbidden, NotFound

MemoryAction = Literal["read", "create", "change"]
NOT_FOUND = "memory not found"
# The fields ``reads_text`` withholds (a ``secret`` memory's title and body).
TEXT_FIELDS = frozenset({"title", "body"})


def _path_within(path: str, prefix: str) -> bool:
    # Both are normalised absolute paths (scopeKey on write, cwd by the token grant).
    return prefix == "/" or path == prefix or path.startswith(prefix.rstrip("/") + "/")


def cwd_covers(viewer: Viewer, repo_root: str) -> bool:
    """Whether the caller's ``cwd`` constraint (if any) covers ``repo_root``."""
    if viewer.cwd is None:
        return True
    return any(_path_within(repo_root, prefix) for prefix in viewer.cwd)


def in_scope(viewer: Viewer, scope: Scope, scope_key: str) -> bool:
    """Whether the scope is one the caller's agents see at all."""
    if viewer.operator:
        return True
    if scope == "agent":
        return scope_key in viewer.agents
    if scope == "repo":
        return bool(viewer.agents) and cwd_covers(viewer, scope_key)
    return bool(viewer.agents)


def created(viewer: Viewer, memory: Memory) -> bool:
    """Whether the caller is the memory's creator, read by the creator's kind as stored:
    an agent it acts for, or (a principal creator) its own ``sub``."""
    if memory.created_by_agent:
        return memory.created_by in viewer.agents
    return viewer.principal is not None and viewer.principal == memory.created_by


def sees(viewer: Viewer, memory: Memory) -> bool:
    """Operators see all; others their scopes, less ``blocked`` ones and ``private`` ones
    none of their agents created."""
    if viewer.operator:
        return True
    if memory.redaction_state == "blocked":
        return False
    if memory.visibility == "private" and not created(viewer, memory):
        return False
    return in_scope(viewer, memory.scope, memory.scope_key)


def judging(
    opened: Viewer, memory: Memory, acts_for: Callable[[str], bool], candidates: Iterable[str]
) -> Viewer:
    """The caller's Viewer as ``sees`` needs it to judge ``memory``, with whom it acts for
    judged now by ``acts_for`` (where each agent is stored now), not as when ``opened``
    was resolved: for a subscriber whose stream outlives a move of its agents. ``sees``
    asks whether the caller acts for the agent scope's agent and for an agent creator
    (judged here), and whether it acts for any agent at all: the first of ``candidates``
    (every agent that may be the caller's; read lazily) it acts for answers that."""
    if opened.operator:
        return opened
    asked = {memory.scope_key} if memory.scope == "agent" else set()
    if memory.created_by_agent:
        asked.add(memory.created_by)
    agents = {a for a in asked if acts_for(a)}
    if not agents:
        # One is enough: the memory names none of the others (a scope's or creator's id).
        still = next((a for a in candidates if a not in asked and acts_for(a)), None)
        agents = set() if still is None else {still}
    return replace(opened, agents=frozenset(agents))


def reads_text(viewer: Viewer, memory: Memory) -> bool:
    """A ``secret`` memory's title and body reach only operators and its creator."""
    if memory.sensitivity != "secret" or viewer.operator:
        return True
    return created(viewer, memory)


def visible_redactions(
    viewer: Viewer, memory: Memory, redactions: tuple[Redaction, ...]
) -> tuple[Redaction, ...]:
    """What a write's reply may say redaction replaced: nothing about a text the caller may
    not read (``reads_text``), whose pattern names and counts would tell what it holds."""
    if reads_text(viewer, memory):
        return redactions
    return tuple(r for r in redactions if r.field not in TEXT_FIELDS)


def may_create(viewer: Viewer, scope: Scope, scope_key: str) -> bool:
    """agent scope: acting for ``scopeKey``; repo: acting for any agent with ``cwd``
    covering ``scopeKey``; global: operators."""
    if viewer.operator:
        return True
    if scope == "agent":
        return scope_key in viewer.agents
    if scope == "repo":
        return bool(viewer.agents) and cwd_covers(viewer, scope_key)
    return False


def may_change(viewer: Viewer, memory: Memory) -> bool:
    """Update and delete: the creator, the scope's agent, operators; only a memory the
    caller sees (a repo one within its ``cwd`` constraint, never a blocked one)."""
    if viewer.operator:
        return True
    if not sees(viewer, memory):
        return False
    if created(viewer, memory):
        return True
    return memory.scope == "agent" and memory.scope_key in viewer.agents


def may_set_sensitivity(viewer: Viewer, memory: Memory, sensitivity: str) -> bool:
    """Making a ``secret`` memory's text readable to its scope (any other sensitivity) is
    for those who read it already (``reads_text``): operators and its creator. Whoever may
    change it otherwise could lower it, and then read it."""
    return memory.sensitivity != "secret" or sensitivity == "secret" or reads_text(viewer, memory)


def may_set_redaction_state(viewer: Viewer) -> bool:
    """Only operators set or clear ``blocked``."""
    return viewer.operator


def authorize(
    viewer: Viewer,
    action: MemoryAction,
    memory: Memory | None = None,
    *,
    scope: Scope | None = None,
    scope_key: str | None = None,
) -> None:
    """The one memory authorization: ``read`` (a memory the caller does not see is
    ``memory not found``), ``create`` in ``scope``/``scopeKey``, ``change`` (update,
    delete) ``memory`` as stored — MemoryActor judges a change on the version it writes.

    Raises:
        NotFound: ``memory not found``.
        Forbidden: ``forbidden``.
    """
    if memory is not None and not sees(viewer, memory):
        raise NotFound(NOT_FOUND)
    refused = (
        action == "create"
        and scope is not None
        and scope_key is not None
        and not may_create(viewer, scope, scope_key)
    ) or (action == "change" and memory is not None and not may_change(viewer, memory))
    if refused:
        raise Forbidden("forbidden")
