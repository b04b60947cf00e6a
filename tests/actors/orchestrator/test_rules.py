"""Orchestrator rules: the runtime token a registration hands out."""

from __future__ import annotations

from relay.actors.orchestrator.rules import (
    RUNTIME_TOKEN_TTL_SECONDS,
    register_orchestrator,
    runtime_token_spec,
)
from relay.auth.profiles import ORCHESTRATOR
from relay.domain.orchestrators import OrchestratorRegistration


def test_the_runtime_token_is_the_orchestrator_profile_limited_to_itself() -> None:
    orch = register_orchestrator(
        None, OrchestratorRegistration(id="o1", name=None, base_dir="/srv/o1"), now=1_000
    )
    spec = runtime_token_spec(orch)
    assert (spec.sub, spec.role) == ("orchestrator:o1", "orchestrator")
    assert spec.scope == ORCHESTRATOR.scope
    assert spec.constraints == {"orchestrators": ["o1"], "cwd": ["/srv/o1"]}
    assert spec.ttl_seconds == RUNTIME_TOKEN_TTL_SECONDS == 30 * 86_400
