"""``POST /api/memory/broker``: what an agent should have in mind now, within a budget
(spec/memory.md, "Broker")."""

from __future__ import annotations

from typing import Any, NoReturn

from pydantic import Field
from quart import Blueprint
from quart_schema import document_request, hide
from werkzeug.exceptions import MethodNotAllowed

from relay.actors.memory.broker import serve
from relay.actors.memory.broker_rules import MAX_ITEMS_DEFAULT, QUERY_MAX, Budget
from relay.auth.access import normalise_path
from relay.errors import Invalid
from relay.http.auth import allow_acting_for, principal, requires
from relay.http.contract import responds
from relay.http.memory_broker_responses import MemoryBrokerContext
from relay.http.services import services
from relay.http.validation import Body, parse_body

bp = Blueprint("memory_broker", __name__)

REPO_ROOT_MAX = 1024


class BudgetBody(Body):
    max_chars: int | None = Field(default=None, ge=200, le=200_000)
    max_items: int | None = Field(default=None, ge=1, le=100)


class BrokerBody(Body):
    agent_id: str = Field(min_length=1, max_length=200)
    query: str | None = Field(default=None, max_length=QUERY_MAX)
    repo_root: str | None = Field(default=None, min_length=1, max_length=REPO_ROOT_MAX)
    budget: BudgetBody | None = None


def budget_of(given: BudgetBody | None, default_chars: int) -> Budget:
    return Budget(
        max_chars=given.max_chars if given and given.max_chars is not None else default_chars,
        max_items=given.max_items if given and given.max_items is not None else MAX_ITEMS_DEFAULT,
    )


def _cwd() -> list[str] | None:
    """The caller's ``cwd`` constraint (None: unconstrained), normalised like scope keys."""
    cwd = principal().constraints.get("cwd")
    return None if cwd is None else [normalise_path(path) for path in cwd]


def absolute_repo_root(repo_root: str | None) -> str | None:
    if repo_root is not None and not repo_root.startswith("/"):
        raise Invalid("repoRoot must be an absolute path")
    return repo_root


async def broker_context(
    agent_id: str,
    *,
    query: str | None,
    repo_root: str | None,
    budget: BudgetBody | None,
) -> dict[str, Any]:
    """The route and the ``memory_context`` tool alike: authorize, then serve."""
    rt = services().runtime
    root = absolute_repo_root(repo_root)
    await allow_acting_for(agent_id)
    answer = await serve(
        rt,
        agent_id,
        query=query,
        repo_root=root,
        budget=budget_of(budget, rt.settings.memory_broker_max_chars),
        cwd=_cwd(),
    )
    return answer.to_json()


@bp.post("/api/memory/broker")
@responds(MemoryBrokerContext, errors=(403, 404))
@document_request(BrokerBody)
@requires("memory:read")
async def memory_broker() -> dict[str, Any]:
    body = await parse_body(BrokerBody)
    return await broker_context(
        body.agent_id, query=body.query, repo_root=body.repo_root, budget=body.budget
    )


@bp.route("/api/memory/broker", methods=["GET", "PATCH", "DELETE"])
@hide
@requires("memory:read")
async def memory_broker_other_methods() -> NoReturn:
    """405 as on any path: without this, ``/api/memory/<memory_id>`` would take these
    methods for a memory named ``broker`` and answer 404."""
    raise MethodNotAllowed(valid_methods=["POST"])
