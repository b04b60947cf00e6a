"""Agent control actions as pure functions: support, the managing orchestrator, the resume
id, provider-arg rewriting, the respawn, the command and the card's lifecycle fields."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors.agent.action_rules import (
    ACTIONS,
    NO_ORCHESTRATOR_FOR_RESUME,
    NO_RESUME_ID,
    AgentAction,
    action_of_command,
    action_params,
    action_refusal,
    agent_of_command,
    can_receive_action,
    changes_host_provider,
    icon,
    latest_claude_resume_id,
    managing_orchestrator,
    outcome_title,
    parse_action,
    provider_args_with_resume,
    requested_title,
    restart_spawn,
    string_list,
)
from relay.actors.agent.rules import begin_lifecycle, end_lifecycle, record_resumed_by
from relay.domain.agents import AgentCard, Presence, TimelineEntry
from relay.domain.commands import Command
from relay.domain.orchestrators import ManagedAgent, Orchestrator
from relay.errors import Conflict, Invalid, Unprocessable

NOW = 1_700_000_000_000
RID = "0f8fad5b-d9cb-469f-a165-70867728950e"
OLDER_RID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
ALL_LIFECYCLE = {
    "restartHard": True,
    "shutdown": True,
    "reconnect": True,
    "compact": True,
    "clearContext": True,
}


def card(
    *,
    agent_id: str = "a1",
    kind: str = "agent",
    status: Presence = "online",
    meta: dict[str, Any] | None = None,
    capabilities: dict[str, Any] | None = None,
    orchestrator_id: str | None = None,
    name: str = "agent one",
) -> AgentCard:
    return AgentCard(
        id=agent_id,
        name=name,
        kind=kind,
        status=status,
        ready=True,
        tags=(),
        orchestrator_id=orchestrator_id,
        provider_capabilities=capabilities,
        meta=meta or {},
        registered_at=NOW,
        last_seen_at=NOW,
    )


# -- support: every action, agent shape and status ----------------------------------------

# shape → (card fields, actions supported whatever the status, whether it is a Claude session)
SHAPES: dict[str, tuple[dict[str, Any], set[str], bool]] = {
    "plain": ({}, set(), False),
    "runner-managed": ({"meta": {"runnerManaged": True}}, {"restart", "shutdown"}, False),
    "runner-managed claude": (
        {"meta": {"runnerManaged": True, "provider": "claude"}},
        {"restart", "shutdown"},
        True,
    ),
    "runner-managed codex": (
        {"meta": {"runnerManaged": True, "provider": "codex"}},
        {"restart", "shutdown"},
        False,
    ),
    "runnerManaged not literally true": ({"meta": {"runnerManaged": "true"}}, set(), False),
    "claude by capabilities": (
        {"capabilities": {"model": {"provider": "claude", "model": "opus"}}},
        set(),
        True,
    ),
    "meta provider wins over capabilities": (
        {"meta": {"provider": "codex"}, "capabilities": {"model": {"provider": "claude"}}},
        set(),
        False,
    ),
    "lifecycle: everything": (
        {"capabilities": {"lifecycle": ALL_LIFECYCLE}},
        {"restart", "shutdown", "reconnect", "compact", "clearContext"},
        False,
    ),
    "lifecycle: nothing, though runner-managed": (
        {"meta": {"runnerManaged": True}, "capabilities": {"lifecycle": {}}},
        set(),
        False,
    ),
    "lifecycle: some, only literal true counts": (
        {
            "capabilities": {
                "lifecycle": {"restartHard": True, "compact": True, "shutdown": "yes", "restart": 1}
            }
        },
        {"restart", "compact"},
        False,
    ),
    "lifecycle: a plain restart flag is not restartHard": (
        {"capabilities": {"lifecycle": {"restart": True, "reconnect": True}}},
        {"reconnect"},
        False,
    ),
    "claude with lifecycle": (
        {
            "meta": {"provider": "claude", "runnerManaged": True},
            "capabilities": {"lifecycle": {"clearContext": True}},
        },
        {"clearContext"},
        True,
    ),
    "human": (
        {"kind": "human", "meta": {"runnerManaged": True, "provider": "claude"}},
        set(),
        False,
    ),
    "orchestrator identity": (
        {"kind": "orchestrator", "capabilities": {"lifecycle": ALL_LIFECYCLE}},
        set(),
        False,
    ),
}
STATUSES: tuple[Presence, ...] = ("online", "stale", "offline")
CASES = [
    pytest.param(shape, action, status, id=f"{shape}-{action}-{status}")
    for shape in SHAPES
    for action in ACTIONS
    for status in STATUSES
]


@pytest.mark.parametrize(("shape", "action", "status"), CASES)
def test_support_table(shape: str, action: AgentAction, status: Presence) -> None:
    fields, supported, is_claude = SHAPES[shape]
    expected = (
        is_claude and status in ("offline", "stale") if action == "resume" else action in supported
    )
    assert can_receive_action(card(status=status, **fields), action) is expected


@pytest.mark.parametrize("action", ACTIONS)
def test_parse_action_accepts_each_action(action: str) -> None:
    assert parse_action(action) == action


@pytest.mark.parametrize("raw", ["Restart", "", "resume ", None, 1, ["restart"], "kill"])
def test_parse_action_names_the_choices(raw: object) -> None:
    with pytest.raises(Invalid) as caught:
        parse_action(raw)
    assert caught.value.message == (
        "action must be one of restart, shutdown, reconnect, compact, clearContext, resume"
    )


# -- the managing orchestrator -------------------------------------------------------------------


def orchestrator(
    orchestrator_id: str,
    *,
    status: Presence = "online",
    agent_id: str | None = None,
    managed: tuple[tuple[str, str | None], ...] = (),
) -> Orchestrator:
    return Orchestrator(
        id=orchestrator_id,
        agent_id=agent_id,
        name=orchestrator_id,
        host=None,
        base_dir=f"/srv/{orchestrator_id}",
        status=status,
        capabilities={},
        runtime={},
        managed_agents=tuple(
            ManagedAgent(agent_id=a, session_name=s, provider=None, status=None) for a, s in managed
        ),
        registered_at=NOW,
        last_heartbeat_at=NOW,
    )


MANAGED = {"runnerManaged": True, "sessionName": "s-1"}


@pytest.mark.parametrize(
    ("agent", "orchestrators", "expected"),
    [
        pytest.param(card(orchestrator_id="o1"), [orchestrator("o1")], None, id="not-runner"),
        pytest.param(
            card(meta=MANAGED, orchestrator_id="o1"), [orchestrator("o1")], "o1", id="named"
        ),
        pytest.param(
            card(meta=MANAGED, orchestrator_id="o1-agent"),
            [orchestrator("o1", agent_id="o1-agent")],
            "o1",
            id="named-by-its-agent-id",
        ),
        pytest.param(
            card(meta=MANAGED, orchestrator_id="o1"),
            [orchestrator("o1", status="stale")],
            None,
            id="named-but-stale",
        ),
        pytest.param(
            card(meta=MANAGED, orchestrator_id="o1"),
            [orchestrator("o1", status="offline"), orchestrator("o2", managed=(("a1", None),))],
            "o2",
            id="named-offline-another-lists-the-agent",
        ),
        pytest.param(
            card(meta=MANAGED),
            [orchestrator("o1"), orchestrator("o2", managed=(("other", "s-1"),))],
            "o2",
            id="by-session-name",
        ),
        pytest.param(
            card(meta=MANAGED, orchestrator_id="o3"),
            [orchestrator("o2", managed=(("a1", None),)), orchestrator("o3")],
            "o3",
            id="the-named-one-first",
        ),
        pytest.param(
            card(meta=MANAGED),
            [
                orchestrator("o2", managed=(("x", "s-1"),)),
                orchestrator("o1", managed=(("a1", None),)),
            ],
            "o1",
            id="listing-the-agent-before-its-session",
        ),
        pytest.param(
            card(meta=MANAGED, orchestrator_id="o2"),
            [orchestrator("o1", agent_id="o2"), orchestrator("o2")],
            "o2",
            id="an-id-before-another-hosts-agent-id",
        ),
        pytest.param(
            card(meta=MANAGED, orchestrator_id="o2"),
            [orchestrator("o1", agent_id="o2"), orchestrator("o2", status="offline")],
            None,
            id="another-hosts-agent-id-never-stands-for-an-offline-host",
        ),
        pytest.param(card(meta=MANAGED), [orchestrator("o1")], None, id="nobody-owns-it"),
        pytest.param(card(meta={"runnerManaged": True}), [], None, id="none-online"),
    ],
)
def test_managing_orchestrator(
    agent: AgentCard, orchestrators: list[Orchestrator], expected: str | None
) -> None:
    found = managing_orchestrator(agent, orchestrators)
    assert (found.id if found else None) == expected


# -- the refusal both the action route and the support listing use ------------------------------

CLAUDE = {"runnerManaged": True, "provider": "claude"}


@pytest.mark.parametrize(
    ("agent", "action", "with_orchestrator", "resume_id", "expected"),
    [
        pytest.param(card(), "restart", True, None, (Invalid, "agent does not support restart")),
        pytest.param(card(meta={"runnerManaged": True}), "restart", False, None, None),
        pytest.param(
            card(meta=CLAUDE, status="online"),
            "resume",
            True,
            RID,
            (Invalid, "agent does not support resume"),
            id="a-live-session-is-not-resumed",
        ),
        pytest.param(
            card(meta=CLAUDE, status="offline"),
            "resume",
            False,
            RID,
            (Conflict, NO_ORCHESTRATOR_FOR_RESUME),
            id="no-orchestrator-before-no-resume-id",
        ),
        pytest.param(
            card(meta=CLAUDE, status="stale"),
            "resume",
            True,
            None,
            (Unprocessable, NO_RESUME_ID),
        ),
        pytest.param(card(meta=CLAUDE, status="offline"), "resume", True, RID, None),
    ],
)
def test_action_refusal_in_the_routes_order(
    agent: AgentCard,
    action: AgentAction,
    with_orchestrator: bool,
    resume_id: str | None,
    expected: tuple[type[Exception], str] | None,
) -> None:
    orch = orchestrator("o1") if with_orchestrator else None
    refusal = action_refusal(agent, action, orchestrator=orch, resume_id=resume_id)
    if expected is None:
        assert refusal is None
    else:
        assert type(refusal) is expected[0]
        assert refusal is not None
        assert refusal.message == expected[1]


# -- the resume id -------------------------------------------------------------------------------


def entry(entry_id: int, metadata: dict[str, Any]) -> TimelineEntry:
    return TimelineEntry(
        id=entry_id,
        agent_id="a1",
        kind="note",
        title="t",
        body=None,
        metadata=metadata,
        created_at=NOW + entry_id,
    )


def test_resume_id_is_the_newest_valid_one() -> None:
    newest_first = [
        entry(9, {"provider": "claude", "claudeResumeId": "not-a-uuid"}),
        entry(8, {"provider": "codex", "claudeResumeId": "11111111-2222-3333-4444-555555555555"}),
        entry(7, {"claudeResumeId": "11111111-2222-3333-4444-555555555555"}),
        entry(6, {"provider": "claude", "claudeResumeId": 12345}),
        entry(5, {"provider": "claude", "claudeResumeId": f"{RID}-extra"}),
        entry(5, {"provider": "claude", "claudeResumeId": f"{RID}\n"}),
        entry(5, {"provider": "claude", "claudeResumeId": f" {RID}"}),
        entry(4, {"provider": "claude"}),
        entry(3, {}),
        entry(2, {"provider": "claude", "claudeResumeId": RID}),
        entry(1, {"provider": "claude", "claudeResumeId": OLDER_RID}),
    ]
    assert latest_claude_resume_id(newest_first) == RID


def test_resume_id_accepts_an_upper_case_uuid() -> None:
    upper = RID.upper()
    assert latest_claude_resume_id([entry(1, {"provider": "claude", "claudeResumeId": upper})]) == (
        upper
    )


def test_no_resume_id_without_a_valid_entry() -> None:
    assert latest_claude_resume_id([]) is None
    assert latest_claude_resume_id([entry(1, {"provider": "claude", "claudeResumeId": ""})]) is None


# -- provider args -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param([], [], id="none"),
        pytest.param(["--model", "opus"], ["--model", "opus"], id="kept"),
        pytest.param(["--resume", "old", "--model", "opus"], ["--model", "opus"], id="flag-value"),
        pytest.param(["--model", "opus", "--resume"], ["--model", "opus"], id="flag-last"),
        pytest.param(["--resume=old", "-v"], ["-v"], id="equals-form"),
        pytest.param(["-v", "--resume="], ["-v"], id="equals-form-empty"),
        pytest.param(
            ["--resume", "a", "-v", "--resume=b", "--resume", "c", "-x"],
            ["-v", "-x"],
            id="repeated",
        ),
        pytest.param(["", "-v", ""], ["-v"], id="empty-strings"),
        pytest.param(["--resume", "", "-v"], ["-v"], id="flag-with-empty-value"),
        pytest.param(["--resume-session", "x"], ["--resume-session", "x"], id="other-flag-kept"),
        pytest.param(["--resume", RID], [], id="same-id-not-doubled"),
    ],
)
def test_provider_args_end_with_the_resume(args: list[str], expected: list[str]) -> None:
    assert provider_args_with_resume(args, RID) == [*expected, "--resume", RID]


def test_string_list_keeps_only_non_blank_strings() -> None:
    assert string_list(["a", "", " ", 3, None, "b"]) == ["a", "b"]
    assert string_list("--resume x") == []
    assert string_list(None) == []


# -- the respawn ---------------------------------------------------------------------------------


def spawn_of(agent: AgentCard, **overrides: Any) -> dict[str, Any] | None:
    options: dict[str, Any] = {
        "spawn_request_id": "sp_new",
        "policy_name": None,
        "policy": None,
        "resume_id": None,
        "now": NOW,
    }
    options.update(overrides)
    return restart_spawn(agent, **options)


def test_restart_spawn_from_the_cards_meta() -> None:
    agent = card(
        meta={
            "provider": "codex",
            "model": "gpt-5",
            "label": "fixer",
            "cwd": "/srv/o1/repo",
            "providerArgs": ["--full-auto", ""],
            "workspaceMode": "isolated",
            "spawnRequestId": "sp_old",
        }
    )
    assert spawn_of(agent) == {
        "action": "spawn",
        "provider": "codex",
        "model": "gpt-5",
        "label": "fixer",
        "cwd": "/srv/o1/repo",
        "providerArgs": ["--full-auto"],
        "workspaceMode": "isolated",
        "agentId": "a1",
        "spawnRequestId": "sp_new",
        "requestedBy": "dashboard-restart",
        "createdBy": "dashboard-restart",
        "requestedAt": NOW,
    }


def test_restart_spawn_defaults_from_the_card() -> None:
    agent = card(capabilities={"model": {"provider": "claude", "model": "opus"}}, name="Ann")
    spawn = spawn_of(agent, policy_name="gone")  # a policy that no longer exists
    assert spawn is not None
    assert (spawn["provider"], spawn["model"], spawn["label"], spawn["policyName"]) == (
        "claude",
        "opus",
        "Ann",
        "gone",
    )
    assert "cwd" not in spawn
    assert spawn["providerArgs"] == []


@pytest.mark.parametrize("provider", [None, "command", "gemini"])
def test_no_restart_spawn_for_other_providers(provider: str | None) -> None:
    assert spawn_of(card(meta={"provider": provider} if provider else {})) is None


def test_restart_spawn_from_the_spawn_policy() -> None:
    policy = {
        "provider": "claude",
        "model": "sonnet",
        "providerArgs": ["--resume", "stale-id", "--verbose", 7],
        "spawnRequestId": "sp_from_policy",
        "requestedBy": "someone",
    }
    agent = card(
        meta={"provider": "codex", "model": "ignored", "cwd": "/srv/o1/wt", "policyName": "p1"}
    )
    spawn = spawn_of(agent, policy_name="p1", policy=policy, resume_id=RID)
    assert spawn == {
        "provider": "claude",
        "model": "sonnet",
        "label": "agent one",  # the card fills what the policy leaves out
        "cwd": "/srv/o1/wt",
        "providerArgs": ["--verbose", "--resume", RID],
        "policyName": "p1",
        "action": "spawn",
        "agentId": "a1",
        "spawnRequestId": "sp_new",
        "requestedBy": "dashboard-resume",
        "createdBy": "dashboard-resume",
        "requestedAt": NOW,
        "resumeOfAgentId": "a1",
        "claudeResumeId": RID,
    }


def test_a_spawn_policy_respawns_an_agent_of_any_provider() -> None:
    spawn = spawn_of(card(), policy_name="p1", policy={"provider": "codex", "cwd": "/srv/x"})
    assert spawn is not None
    assert (spawn["provider"], spawn["cwd"], spawn["providerArgs"]) == ("codex", "/srv/x", [])


def test_a_policy_that_is_not_an_object_is_ignored() -> None:
    assert spawn_of(card(), policy_name="p1", policy="claude") is None


def test_resume_spawn_from_meta_continues_the_session() -> None:
    agent = card(meta={"provider": "claude", "providerArgs": ["--resume=old", "--debug"]})
    spawn = spawn_of(agent, resume_id=RID)
    assert spawn is not None
    assert spawn["providerArgs"] == ["--debug", "--resume", RID]
    assert (spawn["requestedBy"], spawn["resumeOfAgentId"], spawn["claudeResumeId"]) == (
        "dashboard-resume",
        "a1",
        RID,
    )


def test_action_params_carry_the_session_and_the_respawn() -> None:
    agent = card(
        meta={
            "sessionName": "s-1",
            "tmuxSession": "t-1",
            "policyName": "p1",
            "spawnRequestId": "sp_old",
        }
    )
    o1 = orchestrator("o1")
    params = action_params(agent, "resume", orchestrator=o1, spawn={"x": 1}, resume_id=RID, now=NOW)
    assert params == {
        "action": "resume",
        "agentId": "a1",
        "orchestratorId": "o1",
        "sessionName": "s-1",
        "tmuxSession": "t-1",
        "policyName": "p1",
        "spawnRequestId": "sp_old",
        "restartSpawn": {"x": 1},
        "claudeResumeId": RID,
        "requestedBy": "dashboard",
        "requestedAt": NOW,
    }
    shutdown = action_params(
        card(), "shutdown", orchestrator=None, spawn={"x": 1}, resume_id=None, now=NOW
    )
    assert shutdown == {
        "action": "shutdown",
        "agentId": "a1",
        "requestedBy": "dashboard",
        "requestedAt": NOW,
    }


# -- settling ------------------------------------------------------------------------------------


def command(type_: str, params: dict[str, Any], *, target: str = "o1") -> Command:
    return Command(
        id="cmd_1",
        type=type_,
        source=None,
        target=target,
        target_kind="orchestrator" if target.startswith("o") else "agent",
        correlation_id=None,
        params=params,
        status="succeeded",
        result=None,
        error=None,
        attempts=1,
        created_at=NOW,
        updated_at=NOW,
    )


@pytest.mark.parametrize(
    ("type_", "params", "expected"),
    [
        ("agent.restart", {"action": "resume"}, "resume"),
        ("agent.restart", {"action": "restart"}, "restart"),
        ("agent.restart", {}, "restart"),
        ("agent.restart", {"action": "explode"}, "restart"),
        ("agent.restart", {"action": 3}, "restart"),
        ("agent.shutdown", {}, "shutdown"),
        ("agent.reconnect", {}, "reconnect"),
        ("agent.compact", {}, "compact"),
        ("agent.clearContext", {}, "clearContext"),
        ("agent.spawn", {}, None),
    ],
)
def test_action_of_command(type_: str, params: dict[str, Any], expected: str | None) -> None:
    assert action_of_command(command(type_, params)) == expected


def test_agent_of_command() -> None:
    assert agent_of_command(command("agent.restart", {"agentId": "a7"})) == "a7"
    assert agent_of_command(command("agent.compact", {}, target="a8")) == "a8"
    assert agent_of_command(command("agent.restart", {})) is None


@pytest.mark.parametrize(
    ("action", "requested", "done", "failed", "icon_name"),
    [
        (
            "restart",
            "Agent restart requested",
            "Agent restarted",
            "Agent restart failed",
            "ti-refresh",
        ),
        (
            "resume",
            "Agent resume requested",
            "Agent resumed",
            "Agent resume failed",
            "ti-player-play",
        ),
        (
            "shutdown",
            "Agent shutdown requested",
            "Agent shut down",
            "Agent shutdown failed",
            "ti-power",
        ),
        (
            "reconnect",
            "Agent reconnect requested",
            "Agent reconnected",
            "Agent reconnect failed",
            "ti-refresh",
        ),
        (
            "compact",
            "Agent compaction requested",
            "Agent compacted",
            "Agent compaction failed",
            "ti-compress",
        ),
        (
            "clearContext",
            "Agent context clear requested",
            "Agent context cleared",
            "Agent context clear failed",
            "ti-eraser",
        ),
    ],
)
def test_titles_and_icons(
    action: AgentAction, requested: str, done: str, failed: str, icon_name: str
) -> None:
    assert requested_title(action) == requested
    assert outcome_title(action, succeeded=True) == done
    assert outcome_title(action, succeeded=False) == failed
    assert icon(action) == icon_name


# -- the card's lifecycle fields -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "lifecycle"),
    [("shutdown", "shutting-down"), ("restart", "restarting"), ("resume", "resuming")],
)
def test_begin_lifecycle_marks_the_card_not_ready(action: AgentAction, lifecycle: str) -> None:
    marked = begin_lifecycle(card(meta={"provider": "claude"}), action, "cmd_1", NOW)
    assert marked.ready is False
    assert marked.meta == {
        "provider": "claude",
        "lifecycleAction": lifecycle,
        "lifecycleActionAt": NOW,
        "lifecycleCommandId": "cmd_1",
    }


def test_end_lifecycle_clears_only_for_its_own_command() -> None:
    marked = begin_lifecycle(card(meta={"provider": "claude"}), "restart", "cmd_1", NOW)
    assert end_lifecycle(marked, "cmd_other", offline=False) is None
    cleared = end_lifecycle(marked, "cmd_1", offline=False)
    assert cleared is not None
    assert (cleared.meta, cleared.status, cleared.ready) == (
        {"provider": "claude"},
        "online",
        False,
    )
    assert end_lifecycle(cleared, "cmd_1", offline=False) is None  # a second run: no change


def test_end_lifecycle_of_a_shutdown_marks_the_agent_offline() -> None:
    marked = begin_lifecycle(card(), "shutdown", "cmd_1", NOW)
    cleared = end_lifecycle(marked, "cmd_1", offline=True)
    assert cleared is not None
    assert (cleared.status, cleared.meta) == ("offline", {})


def test_record_resumed_by_is_idempotent() -> None:
    linked = record_resumed_by(card(agent_id="old"), "new")
    assert linked is not None
    assert linked.meta == {"resumedByAgentId": "new"}
    assert record_resumed_by(linked, "new") is None


def test_changes_host_provider() -> None:
    managed = {"runnerManaged": True}
    claude = {"model": {"provider": "claude"}}
    codex = {"model": {"provider": "codex"}}
    before = card(meta=managed, capabilities=claude)
    assert changes_host_provider(before, card(meta=managed, capabilities=codex))
    assert not changes_host_provider(before, card(meta=managed, capabilities=claude))
    # meta.provider wins over the fallback: the capability then steers nothing.
    pinned = {**managed, "provider": "claude"}
    assert not changes_host_provider(
        card(meta=pinned, capabilities=claude), card(meta=pinned, capabilities=codex)
    )
    # No host runs it, or nothing was there before: nothing to steer.
    assert not changes_host_provider(card(capabilities=claude), card(capabilities=codex))
    assert not changes_host_provider(None, card(meta=managed, capabilities=codex))
