"""Agent rules as pure functions: presence after silence, registration, patches."""

from __future__ import annotations

import pytest

from relay.actors.agent.rules import (
    apply_patch,
    check_spawn_cwd,
    register_card,
    reserved_id,
    spawn_params,
)
from relay.actors.orchestrator.rules import register_orchestrator
from relay.actors.runtime.reaping import presence_after_silence
from relay.domain.agents import AgentCard, AgentPatch, AgentRegistration, Presence, SpawnRequest
from relay.domain.orchestrators import Orchestrator, OrchestratorRegistration
from relay.errors import Invalid

STALE_S = 30
OFFLINE_S = 300
SEEN = 1_700_000_000_000


@pytest.mark.parametrize(
    ("status", "silent_ms", "expected"),
    [
        # online: below stale, at stale, between, at offline, beyond
        ("online", 0, "online"),
        ("online", STALE_S * 1000 - 1, "online"),
        ("online", STALE_S * 1000, "stale"),
        ("online", 100_000, "stale"),
        ("online", OFFLINE_S * 1000 - 1, "stale"),
        ("online", OFFLINE_S * 1000, "offline"),
        ("online", 10 * OFFLINE_S * 1000, "offline"),
        # stale: silence never makes it online again; it only moves on to offline
        ("stale", 0, "stale"),
        ("stale", STALE_S * 1000 - 1, "stale"),
        ("stale", STALE_S * 1000, "stale"),
        ("stale", OFFLINE_S * 1000 - 1, "stale"),
        ("stale", OFFLINE_S * 1000, "offline"),
        ("stale", 10 * OFFLINE_S * 1000, "offline"),
        # offline stays offline whatever the clock says
        ("offline", 0, "offline"),
        ("offline", STALE_S * 1000, "offline"),
        ("offline", OFFLINE_S * 1000, "offline"),
        # a last-seen time in the future (clock skew) changes nothing
        ("online", -5_000, "online"),
        ("stale", -5_000, "stale"),
    ],
)
def test_presence_after_silence(status: Presence, silent_ms: int, expected: Presence) -> None:
    result = presence_after_silence(
        status, SEEN, SEEN + silent_ms, stale_after_s=STALE_S, offline_after_s=OFFLINE_S
    )
    assert result == expected


@pytest.mark.parametrize(
    ("silent_ms", "expected"),
    [(4_999, "online"), (5_000, "stale"), (11_999, "stale"), (12_000, "offline")],
)
def test_presence_thresholds_are_parameters(silent_ms: int, expected: Presence) -> None:
    result = presence_after_silence(
        "online", SEEN, SEEN + silent_ms, stale_after_s=5, offline_after_s=12
    )
    assert result == expected


def test_presence_accepts_fractional_thresholds() -> None:
    assert presence_after_silence("online", 0, 1_500, stale_after_s=1.5, offline_after_s=9) == (
        "stale"
    )


def card(**fields: object) -> AgentCard:
    base: dict[str, object] = {
        "id": "a1",
        "name": "One",
        "kind": "agent",
        "status": "stale",
        "ready": False,
        "tags": ("t",),
        "orchestrator_id": "o1",
        "provider_capabilities": {"lifecycle": {"shutdown": True}},
        "meta": {"provider": "claude", "model": "opus"},
        "registered_at": 1,
        "last_seen_at": 2,
    }
    base.update(fields)
    return AgentCard(**base)  # type: ignore[arg-type]


def test_first_registration_fills_defaults_and_is_online() -> None:
    new = register_card(None, AgentRegistration(id="a9"), now=50)
    assert new == AgentCard(
        id="a9",
        name="a9",
        kind="agent",
        status="online",
        ready=False,
        tags=(),
        orchestrator_id=None,
        provider_capabilities=None,
        meta={},
        registered_at=50,
        last_seen_at=50,
    )


def test_first_registration_drops_nothing_it_was_given() -> None:
    reg = AgentRegistration(
        id="a9",
        name="N",
        kind="codex",
        ready=True,
        tags=("x",),
        orchestrator_id="o",
        provider_capabilities={"model": {"provider": "codex"}},
        meta={"k": "v"},
    )
    new = register_card(None, reg, now=50)
    assert (new.name, new.kind, new.ready, new.tags, new.orchestrator_id) == (
        "N",
        "codex",
        True,
        ("x",),
        "o",
    )
    assert new.provider_capabilities == {"model": {"provider": "codex"}}
    assert new.meta == {"k": "v"}


def test_reregistration_is_a_heartbeat_that_keeps_registered_at() -> None:
    again = register_card(card(), AgentRegistration(id="a1"), now=99)
    assert again == card(status="online", last_seen_at=99)


def test_reregistration_merges_meta_and_null_removes() -> None:
    again = register_card(
        card(), AgentRegistration(id="a1", meta={"model": None, "label": "L"}), now=99
    )
    assert again.meta == {"provider": "claude", "label": "L"}


def test_patch_with_nothing_changes_nothing() -> None:
    assert apply_patch(card(), AgentPatch()) == card()


@pytest.mark.parametrize(
    ("patch", "changed"),
    [
        (AgentPatch(name="New"), {"name": "New"}),
        (AgentPatch(ready=True), {"ready": True}),
        (AgentPatch(tags=()), {"tags": ()}),
        (AgentPatch(tags=("a", "b")), {"tags": ("a", "b")}),
        (AgentPatch(meta={}), {}),
        (AgentPatch(meta={"model": "sonnet"}), {"meta": {"provider": "claude", "model": "sonnet"}}),
        (AgentPatch(meta={"provider": None}), {"meta": {"model": "opus"}}),
        (AgentPatch(meta={"absent": None}), {}),
        (AgentPatch(orchestrator_id="o2"), {"orchestrator_id": "o2"}),
        (AgentPatch(provider_capabilities={}), {"provider_capabilities": {}}),
    ],
)
def test_patch_changes_only_what_it_names(patch: AgentPatch, changed: dict[str, object]) -> None:
    assert apply_patch(card(), patch) == card(**changed)


def test_patch_never_touches_presence() -> None:
    patched = apply_patch(card(status="offline", last_seen_at=7), AgentPatch(name="x"))
    assert (patched.status, patched.last_seen_at) == ("offline", 7)


# -- spawning a new session ---------------------------------------------------------------


def _orchestrator(base_dir: str) -> Orchestrator:
    return register_orchestrator(
        None, OrchestratorRegistration(id="o1", name=None, base_dir=base_dir), now=0
    )


@pytest.mark.parametrize("cwd", ["/srv/o1", "/srv/o1/repo", "/srv/o1/a/b"])
def test_a_spawn_inside_the_base_dir_is_allowed(cwd: str) -> None:
    check_spawn_cwd(SpawnRequest(provider="claude", cwd=cwd), _orchestrator("/srv/o1"))


@pytest.mark.parametrize("cwd", ["/srv", "/srv/o10", "/srv/o2/repo", "/"])
def test_a_spawn_outside_the_base_dir_is_invalid(cwd: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_spawn_cwd(SpawnRequest(provider="claude", cwd=cwd), _orchestrator("/srv/o1"))
    assert refused.value.message == "cwd must be inside the orchestrator's baseDir"


def test_spawn_params_leave_out_what_was_not_sent() -> None:
    params = spawn_params(
        SpawnRequest(provider="claude", cwd="/srv/o1"), spawn_request_id="sp_1", requested_by="me"
    )
    assert params == {
        "spawnRequestId": "sp_1",
        "provider": "claude",
        "cwd": "/srv/o1",
        "providerArgs": [],
        "requestedBy": "me",
    }


def test_spawn_params_carry_every_field_sent() -> None:
    request = SpawnRequest(
        provider="command",
        cwd="/srv/o1/r",
        model="m",
        label="l",
        policy_name="p",
        provider_args=("--x",),
        workspace_mode="shared",
        command=("make", "test"),
    )
    params = spawn_params(request, spawn_request_id="sp_2", requested_by="me")
    assert params == {
        "spawnRequestId": "sp_2",
        "provider": "command",
        "model": "m",
        "label": "l",
        "cwd": "/srv/o1/r",
        "policyName": "p",
        "providerArgs": ["--x"],
        "workspaceMode": "shared",
        "requestedBy": "me",
        "command": ["make", "test"],
    }


@pytest.mark.parametrize(
    ("agent_id", "reserved"),
    [
        ("root", True),
        ("relay", True),
        ("automation:au_1", True),
        ("integration:ci", True),
        ("a1", False),
        ("rooted", False),
        ("my-relay", False),
        ("automation", False),
        ("Root", True),
        ("\uff52\uff4f\uff4f\uff54", True),  # root in fullwidth letters
        ("orchestrator:o1", True),
        ("Runner:sp_1", True),
        ("mcp:a1", True),
    ],
)
def test_the_relays_own_names_are_reserved(agent_id: str, reserved: bool) -> None:
    assert reserved_id(agent_id) is reserved
