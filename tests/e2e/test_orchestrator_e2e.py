"""``relay serve`` + ``relay orchestrator`` as real processes: sessions, workspaces, merges,
refusals, and the daemon's and the relay's restarts.

The kill -9 and relay-restart tests slow a merge down with the daemon's test hook
``RELAY_ORCHESTRATOR_TEST_MERGE_DELAY_SECONDS``: it sleeps between the rebase and the
fast-forward of the base (logging ``merge_test_delay``), so the test can act while a
merge is ``running`` and half done.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.daemon.repos import commit, git, make_repo, subjects
from tests.e2e.conftest import TOKEN_CREATE, needs_tmux
from tests.e2e.processes import DaemonProcess, RelayProcess, clean_env, wait_for

Pair = Callable[..., tuple[RelayProcess, DaemonProcess]]


def create_workspace(
    relay: RelayProcess, daemon: DaemonProcess, repo: Path, branch: str
) -> dict[str, Any]:
    """A workspace made by the daemon (``workspace.create``) and recorded on the relay."""
    command = relay.run(
        daemon.id, "workspace.create", {"repoRoot": str(repo), "branch": branch, "baseRef": "main"}
    )
    assert command["status"] == "succeeded", command
    result: dict[str, Any] = command["result"]
    assert result["recorded"] is True, result
    return result


def request_merge(relay: RelayProcess, workspace_id: str, strategy: str = "rebase-ff") -> str:
    """Merge through the relay's lease; a held lease (409) is retried until it is free."""

    def ask() -> str | None:
        response = relay.api.post(
            f"/api/workspaces/{workspace_id}/actions",
            json={"action": "merge", "strategy": strategy},
        )
        if response.status_code == 409 and "already in progress" in response.text:
            return None
        assert response.status_code == 202, response.text
        command_id: str = response.json()["command"]["id"]
        return command_id

    return wait_for(ask, timeout=20, what=f"the merge lease for {workspace_id}")


def workspace(relay: RelayProcess, workspace_id: str) -> dict[str, Any]:
    response = relay.api.get(f"/api/workspaces/{workspace_id}")
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def wait_status(relay: RelayProcess, workspace_id: str, status: str) -> None:
    """The workspace reaches ``status`` (settle effects run just after the command settles)."""
    wait_for(
        lambda: workspace(relay, workspace_id)["status"] == status,
        what=f"workspace {workspace_id} to be {status}",
    )


def sha(repo: Path, ref: str) -> str:
    return git(repo, "rev-parse", ref)


@needs_tmux
def test_spawned_command_session_is_registered_and_running(
    relay: RelayProcess, daemon: DaemonProcess, base_dir: Path
) -> None:
    marker = base_dir / "session-env.txt"
    response = relay.api.post(
        f"/api/orchestrators/{daemon.id}/spawn",
        json={
            "provider": "command",
            "cwd": str(base_dir),
            "label": "e2e sleeper",
            "command": [
                "sh",
                "-c",
                f'echo "$RELAY_URL $RELAY_AGENT_ID" > {marker}; exec sleep 300',
            ],
        },
    )
    assert response.status_code == 202, response.text
    spawn_id = response.json()["spawnRequestId"]
    command = relay.settled(response.json()["command"]["id"])
    assert command["status"] == "succeeded", command
    agent_id, session = command["result"]["agentId"], command["result"]["tmuxSession"]
    assert session == f"relay-{spawn_id}"
    assert daemon.tmux("has-session", "-t", f"={session}").returncode == 0

    agent = relay.api.get(f"/api/agents/{agent_id}").json()
    assert agent["status"] == "online"
    assert agent["orchestratorId"] == daemon.id
    assert agent["meta"]["runnerManaged"] is True
    assert agent["meta"]["spawnRequestId"] == spawn_id
    assert agent["meta"]["tmuxSession"] == session
    wait_for(lambda: marker.exists() and marker.read_text().strip(), what="the session's output")
    assert marker.read_text().split() == [relay.url, agent_id]

    def managed() -> bool:
        orchestrator = relay.api.get(f"/api/orchestrators/{daemon.id}").json()
        return any(m["agentId"] == agent_id for m in orchestrator["managedAgents"])

    wait_for(managed, what="the heartbeat to report the session")

    # Shut it down the way the dashboard does: the relay routes it to this orchestrator.
    response = relay.api.post(f"/api/agents/{agent_id}/actions", json={"action": "shutdown"})
    assert response.status_code == 202, response.text
    stop = relay.settled(response.json()["command"]["id"])
    assert stop["status"] == "succeeded", stop
    assert stop["target"] == daemon.id
    assert stop["result"]["forced"] is False  # `sleep` ended on SIGTERM, within the grace
    assert daemon.tmux("has-session", "-t", f"={session}").returncode != 0


def test_two_workspaces_merge_back_to_back(
    relay: RelayProcess, daemon: DaemonProcess, repo: Path
) -> None:
    a = create_workspace(relay, daemon, repo, "feat-a")
    b = create_workspace(relay, daemon, repo, "feat-b")
    commit(Path(a["worktreePath"]), "a.txt", "a\n", "add a")
    commit(Path(b["worktreePath"]), "b.txt", "b\n", "add b")
    first = request_merge(relay, a["workspaceId"])
    second = request_merge(relay, b["workspaceId"])  # waits out A's lease if need be
    for command_id in (first, second):
        command = relay.settled(command_id)
        assert command["status"] == "succeeded", command
        assert command["result"]["merged"] is True
    assert subjects(repo) == ["add b", "add a", "init"]
    assert git(repo, "rev-list", "--merges", "main") == ""
    assert (repo / "a.txt").exists()  # the main worktree (on main, clean) was updated
    assert (repo / "b.txt").exists()
    for ws in (a, b):
        wait_status(relay, ws["workspaceId"], "merged")
    wait_for(lambda: relay.api.get("/api/merge-leases").json() == [], what="the lease to go")


def test_conflicting_merge_fails_with_paths_and_touches_nothing(
    relay: RelayProcess, daemon: DaemonProcess, repo: Path
) -> None:
    a = create_workspace(relay, daemon, repo, "edit-a")
    b = create_workspace(relay, daemon, repo, "edit-b")
    commit(Path(a["worktreePath"]), "README.md", "from a\n", "a edits readme")
    commit(Path(b["worktreePath"]), "README.md", "from b\n", "b edits readme")
    assert relay.settled(request_merge(relay, a["workspaceId"]))["status"] == "succeeded"
    base_before, branch_before = sha(repo, "main"), sha(repo, "edit-b")
    command = relay.settled(request_merge(relay, b["workspaceId"]))
    assert command["status"] == "failed"
    assert command["result"]["conflict"] is True
    assert command["result"]["paths"] == ["README.md"]
    assert command["error"].startswith("merge conflict in README.md")
    assert (sha(repo, "main"), sha(repo, "edit-b")) == (base_before, branch_before)
    assert git(Path(b["worktreePath"]), "status", "--porcelain") == ""
    wait_status(relay, b["workspaceId"], "conflict")


def test_cleanup_refuses_a_dirty_worktree(
    relay: RelayProcess, daemon: DaemonProcess, repo: Path
) -> None:
    ws = create_workspace(relay, daemon, repo, "dirty")
    wt = Path(ws["worktreePath"])
    (wt / "unsaved.txt").write_text("work in progress\n")
    response = relay.api.post(
        f"/api/workspaces/{ws['workspaceId']}/actions", json={"action": "cleanup"}
    )
    assert response.status_code == 202, response.text
    command = relay.settled(response.json()["command"]["id"])
    assert command["status"] == "failed"
    assert "uncommitted changes: unsaved.txt" in command["error"]
    assert (wt / "unsaved.txt").read_text() == "work in progress\n"
    wait_status(relay, ws["workspaceId"], "active")

    forced = relay.run(
        daemon.id,
        "workspace.cleanup",
        {
            "workspaceId": ws["workspaceId"],
            "repoRoot": str(repo),
            "worktreePath": str(wt),
            "branch": "dirty",
            "force": True,
        },
    )
    assert forced["status"] == "succeeded", forced
    assert not wt.exists()


def test_reconcile_removes_a_workspace_without_changes(
    relay: RelayProcess, daemon: DaemonProcess, repo: Path
) -> None:
    ws = create_workspace(relay, daemon, repo, "idle")
    command = relay.run(
        daemon.id,
        "workspace.reconcile",
        {
            "workspaceId": ws["workspaceId"],
            "repoRoot": str(repo),
            "worktreePath": ws["worktreePath"],
            "branch": "idle",
            "baseRef": "main",
        },
    )
    assert command["status"] == "succeeded", command
    assert command["result"]["removed"] is True
    assert not Path(ws["worktreePath"]).exists()
    assert git(repo, "branch", "--list", "idle") == ""
    wait_for(
        lambda: relay.api.get(f"/api/workspaces/{ws['workspaceId']}").status_code == 404,
        what="the relay to drop the workspace record",
    )


def test_paths_outside_the_base_dir_are_refused(
    relay: RelayProcess, daemon: DaemonProcess, repo: Path, base_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep\n")
    os.symlink(outside, base_dir / f"escape-{repo.name}")
    for worktree in (base_dir / f"escape-{repo.name}", base_dir / ".." / tmp_path.name / "outside"):
        command = relay.run(
            daemon.id,
            "workspace.cleanup",
            {
                "workspaceId": "ws-x",
                "repoRoot": str(repo),
                "worktreePath": str(worktree),
                "force": True,
            },
        )
        assert command["status"] == "failed"
        assert "outside the base dir" in command["error"]
        assert command["result"] == {"refused": True}
    assert (outside / "precious.txt").read_text() == "keep\n"


def test_kill9_during_merge_does_not_merge_twice(fresh_pair: Pair, tmp_path: Path) -> None:
    relay, daemon = fresh_pair(RELAY_ORCHESTRATOR_TEST_MERGE_DELAY_SECONDS="30")
    repo = make_repo(daemon.base_dir / "repo")
    ws = create_workspace(relay, daemon, repo, "feat")
    commit(Path(ws["worktreePath"]), "feature.txt", "f\n", "add feature")
    commit(repo, "other.txt", "o\n", "main moves")
    before = daemon.log_size()
    command_id = request_merge(relay, ws["workspaceId"])
    daemon.wait_log("merge_test_delay", after=before)  # rebased, base not yet moved
    assert relay.command(command_id)["status"] == "running"
    daemon.kill9()
    assert subjects(repo) == ["main moves", "init"]

    daemon.env.pop("RELAY_ORCHESTRATOR_TEST_MERGE_DELAY_SECONDS")
    daemon.start()
    command = relay.settled(command_id)
    assert command["status"] == "succeeded", command
    assert command["result"]["resumed"] is True
    assert subjects(repo) == ["add feature", "main moves", "init"]
    wait_status(relay, ws["workspaceId"], "merged")
    log = daemon.log()
    assert "command_interrupted id=" + command_id in log
    assert log.count(f"command id={command_id} ") == 1  # carried out (settled) once


def test_relay_restart_under_a_connected_daemon(fresh_pair: Pair) -> None:
    relay, daemon = fresh_pair(RELAY_ORCHESTRATOR_TEST_MERGE_DELAY_SECONDS="1.5")
    repo = make_repo(daemon.base_dir / "repo")
    ws = create_workspace(relay, daemon, repo, "feat")
    commit(Path(ws["worktreePath"]), "feature.txt", "f\n", "add feature")
    commit(repo, "other.txt", "o\n", "main moves")
    before = daemon.log_size()
    command_id = request_merge(relay, ws["workspaceId"])
    daemon.wait_log("merge_test_delay", after=before)
    relay.stop(signal.SIGKILL)  # the relay vanishes mid-command, without draining anything
    daemon.wait_log("report_unavailable", after=before)  # the merge finished; its report waits
    relay.start()
    command = relay.settled(command_id)
    assert command["status"] == "succeeded", command
    assert subjects(repo) == ["add feature", "main moves", "init"]
    daemon.wait_log("channel_open mode=websocket", after=before)
    # The channel is back: a new command is delivered and carried out.
    again = relay.run(
        daemon.id,
        "workspace.reconcile",
        {
            "workspaceId": ws["workspaceId"],
            "repoRoot": str(repo),
            "worktreePath": ws["worktreePath"],
            "branch": "feat",
            "baseRef": "main",
        },
    )
    assert again["status"] == "succeeded", again


def test_relay_sigterm_closes_the_channel_at_once_and_the_daemon_comes_back(
    fresh_pair: Pair,
) -> None:
    # A graceful timeout far beyond the bound below: the relay exiting within it shows that
    # nothing waited on the daemon's open channel.
    relay, daemon = fresh_pair(relay_env={"RELAY_SHUTDOWN_GRACE_SECONDS": "600"})
    daemon.wait_log("channel_open mode=websocket")
    before = daemon.log_size()
    assert relay.proc is not None
    relay.proc.send_signal(signal.SIGTERM)
    assert relay.proc.wait(timeout=60) == 0
    assert "relay_stopped" in relay.log()
    daemon.wait_log("code=1001, name=GOING_AWAY, reason=relay is shutting down", after=before)
    relay.start()
    daemon.wait_log("channel_open mode=websocket", after=before)
    repo = make_repo(daemon.base_dir / "repo")
    create_workspace(relay, daemon, repo, "after-restart")  # the channel carries commands


def test_sigterm_finishes_the_running_merge_and_exits_cleanly(fresh_pair: Pair) -> None:
    relay, daemon = fresh_pair(RELAY_ORCHESTRATOR_TEST_MERGE_DELAY_SECONDS="1")
    repo = make_repo(daemon.base_dir / "repo")
    ws = create_workspace(relay, daemon, repo, "feat")
    commit(Path(ws["worktreePath"]), "feature.txt", "f\n", "add feature")
    commit(repo, "other.txt", "o\n", "main moves")
    before = daemon.log_size()
    command_id = request_merge(relay, ws["workspaceId"])
    daemon.wait_log("merge_test_delay", after=before)
    assert daemon.terminate() == 0  # SIGTERM mid-merge: it drains, then exits 0
    assert relay.command(command_id)["status"] == "succeeded"
    assert subjects(repo) == ["add feature", "main moves", "init"]
    log = daemon.log(before)
    assert "orchestrator_stopping" in log
    assert "orchestrator_stopped" in log
    state = daemon.base_dir / ".relay" / "orchestrator.json"
    assert state.stat().st_mode & 0o777 == 0o600


def test_token_create_reports_a_refusal(relay: RelayProcess) -> None:
    done = subprocess.run(
        [*TOKEN_CREATE, "--sub", "x", "--relay-url", relay.url, "--root-token", "wrong-token"],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "the relay refused: 401 unauthorized" in done.stderr
    assert done.stdout == ""
