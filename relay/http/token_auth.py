"""Token records: which a ``token:admin`` holder lists and revokes, and what it may issue,
judged as ``relay.http.auth`` judges every other resource kind."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from relay.auth.grants import check_acting, may_grant
from relay.domain.tokens import TokenRecord
from relay.http.auth import agent_placements, principal


def may_manage_token(record: TokenRecord | None) -> bool:
    """Token records, for the list and revocation alike: a ``token:admin`` holder manages
    the tokens it could have issued. Root and an unconstrained caller every one; a
    constrained caller those whose stored constraints lie within its own
    (``grants.check_grantable``), never a jti without a record, whose grants are unknown."""
    caller = principal()
    if not caller.constrained:
        return True
    return record is not None and may_grant(caller, record.constraints)


async def allow_issuing(role: str, constraints: Mapping[str, Sequence[str]]) -> None:
    """A token a constrained caller issues acts for no agent the caller does not act for
    (``grants.check_acting``), judged on where the agents it names are stored; only such
    a caller naming agents pays for the look-up."""
    caller = principal()
    if not caller.constrained:
        return
    placements = await agent_placements(constraints.get("agents", ()))
    check_acting(caller, role, constraints, placements)


def limited_token_admin() -> bool:
    """Whether ``may_manage_token`` can refuse a record to the caller."""
    caller = principal()
    return caller.constrained
