"""Who may re-mint a runner token: the pure rule behind the orchestrator route."""

from __future__ import annotations

import pytest

from relay.actors.tokens.runner_tokens import check_runner_token, runner_spec
from relay.domain.tokens import Claims
from relay.errors import Forbidden

NOW = 1_700_000_000
DAY = 86_400


def claims(
    *,
    sub: str = "runner:sp_1",
    role: str = "provider",
    orchestrators: list[str] | None = None,
    exp: int = NOW + 3600,
) -> Claims:
    return Claims(
        sub=sub,
        role=role,
        scope=("agent:read",),
        constraints={"orchestrators": orchestrators if orchestrators is not None else ["orch-a"]},
        jti="j1",
        iat=exp - DAY,
        exp=exp,
    )


def test_runner_spec_is_bound_to_its_orchestrator_and_agent() -> None:
    spec = runner_spec("orch-a", "sp_1", "agent-sp_1", ttl_seconds=600)
    assert (spec.sub, spec.role, spec.ttl_seconds) == ("runner:sp_1", "provider", 600)
    assert spec.constraints == {"orchestrators": ["orch-a"], "agents": ["agent-sp_1"]}
    assert "command:write" in spec.scope
    assert "token:admin" not in spec.scope


@pytest.mark.parametrize(
    "token",
    [
        claims(),
        claims(exp=NOW - 29 * DAY),
        claims(exp=NOW - 30 * DAY),
        claims(orchestrators=["orch-b", "orch-a"]),
    ],
)
def test_owned_runner_token_may_be_reminted(token: Claims) -> None:
    check_runner_token(token, orchestrator_id="orch-a", now_s=NOW)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (claims(role="orchestrator"), "not a runner token"),
        (claims(sub="agent:a1"), "not a runner token"),
        (claims(sub="xrunner:sp_1"), "not a runner token"),
        (claims(orchestrators=["orch-b"]), "runner token not owned by this orchestrator"),
        (claims(orchestrators=[]), "runner token not owned by this orchestrator"),
        (claims(exp=NOW - 30 * DAY - 1), "runner token expired too long ago"),
        (claims(exp=NOW - 31 * DAY), "runner token expired too long ago"),
    ],
)
def test_other_tokens_may_not(token: Claims, message: str) -> None:
    with pytest.raises(Forbidden) as raised:
        check_runner_token(token, orchestrator_id="orch-a", now_s=NOW)
    assert raised.value.message == message


def test_token_without_orchestrator_constraint_is_not_owned() -> None:
    token = Claims(
        sub="runner:sp_1", role="provider", scope=(), constraints={}, jti="j", iat=NOW, exp=NOW + 1
    )
    with pytest.raises(Forbidden) as raised:
        check_runner_token(token, orchestrator_id="orch-a", now_s=NOW)
    assert raised.value.message == "runner token not owned by this orchestrator"
