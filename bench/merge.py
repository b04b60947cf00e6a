"""Merge 20 ready workspaces of one repository through relay + daemon, and the same merges
with a bare git script, in the same run; then the daemon's idle CPU and RSS.

Everything runs on 127.0.0.1: a real ``relay serve`` (fresh temporary data dir) and a
real ``relay orchestrator`` whose base dir holds two identical repositories, each with N
worktrees on their own branch and one commit each (a distinct file, so every merge after
the first needs a rebase). Through the relay, each workspace is recorded
(``POST /api/workspaces``, status ready) and merged back to back with
``POST /api/workspaces/:id/actions {action: merge, strategy}``; a merge's wall time runs
from that request to the command settling (polled every 2 ms). The bare script (its
merges interleaved with the relay's, one each in turn) does what a person would:
``git rebase`` the branch onto main when it cannot fast-forward, ``git merge --ff-only``
in the main worktree, detach the worktree, delete the branch.

    .venv/bin/python -m bench.merge                 # 20 workspaces, strategy auto
    .venv/bin/python -m bench.merge -n 50 --strategy rebase-ff --idle-seconds 30
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import profile_from_start, profile_report
from tests.daemon.repos import commit, git, make_repo, subjects
from tests.e2e.processes import DaemonProcess, RelayProcess, clean_env

CLK_TCK = os.sysconf("SC_CLK_TCK")
GIT = shutil.which("git") or "git"


def make_workspaces(repo: Path, worktrees: Path, count: int) -> list[tuple[str, Path]]:
    made = []
    for index in range(count):
        branch = f"task-{index:03d}"
        path = worktrees / f"{repo.name}-{branch}"
        git(repo, "worktree", "add", "-q", "-b", branch, str(path), "main")
        commit(path, f"task-{index:03d}.txt", f"work {index}\n", f"task {index}")
        made.append((branch, path))
    return made


def run_git(cwd: Path, *args: str, check: bool = True) -> int:
    argv = [GIT, "-C", str(cwd), *args]
    return subprocess.run(argv, check=check).returncode  # noqa: S603 - our own argv


def bare_git_merge(repo: Path, branch: str, path: Path) -> float:
    start = time.perf_counter()
    if run_git(repo, "merge-base", "--is-ancestor", "main", branch, check=False):
        run_git(path, "rebase", "-q", "main")
    run_git(repo, "merge", "-q", "--ff-only", branch)
    run_git(path, "checkout", "-q", "--detach")
    run_git(repo, "branch", "-q", "-D", branch)
    return time.perf_counter() - start


def record_workspaces(
    relay: RelayProcess, daemon: DaemonProcess, repo: Path, workspaces: list[tuple[str, Path]]
) -> list[str]:
    base_sha = git(repo, "rev-parse", "main")
    ids = []
    for branch, path in workspaces:
        response = relay.api.post(
            "/api/workspaces",
            json={
                "orchestratorId": daemon.id,
                "repoRoot": str(repo),
                "sourceCwd": str(repo),
                "worktreePath": str(path),
                "branch": branch,
                "baseRef": "main",
                "baseSha": base_sha,
                "mode": "isolated",
                "status": "ready",
            },
        )
        response.raise_for_status()
        ids.append(response.json()["workspace"]["id"])
    return ids


def relay_merge(relay: RelayProcess, workspace_id: str, strategy: str) -> float:
    start = time.perf_counter()
    response = relay.api.post(
        f"/api/workspaces/{workspace_id}/actions", json={"action": "merge", "strategy": strategy}
    )
    assert response.status_code == 202, response.text
    command_id = response.json()["command"]["id"]
    status = poll_settled(relay, command_id)
    elapsed = time.perf_counter() - start
    assert status == "succeeded", relay.command(command_id)
    return elapsed


def poll_settled(relay: RelayProcess, command_id: str, timeout: float = 60) -> str:
    """The command's final status, polled every 2 ms (so polling adds at most ~2 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status: str = relay.api.get(f"/api/commands/{command_id}").json()["status"]
        if status in ("succeeded", "failed", "expired"):
            return status
        time.sleep(0.002)
    raise TimeoutError(f"merge {command_id} did not settle in {timeout} s")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def summary(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return (
        f"{name:<26} mean {statistics.mean(ms):7.1f}  median {statistics.median(ms):7.1f}  "
        f"p95 {p95:7.1f}  min {ms[0]:7.1f}  max {ms[-1]:7.1f}  (ms per merge)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", "--workspaces", type=int, default=20)
    parser.add_argument("--strategy", choices=("auto", "rebase-ff"), default="auto")
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="relay-bench-merge-") as tmp_name:
        tmp = Path(tmp_name)
        base = (tmp / "base").resolve()
        base.mkdir()
        # The production heartbeat cadence (10 s), so the idle figure is what a host sees.
        relay = RelayProcess(tmp / "relay", RELAY_HEARTBEAT_INTERVAL_SECONDS="10").start()
        assert relay.proc is not None
        relay_pid = relay.proc.pid
        profile_from_start(relay_pid)
        token = relay.token("orchestrator:bench")
        assert token is not None
        daemon = DaemonProcess(
            relay,
            base,
            token=token,
            orchestrator_id="o-bench",
            tmux_socket=f"relay-bench-{os.getpid()}",
            log_path=tmp / "daemon.log",
        )
        try:
            daemon.start()
            profile_from_start(daemon.pid, "daemon")
            via_relay = make_repo(base / "via-relay")
            via_git = make_repo(base / "via-git")
            worktrees = base / "worktrees"
            relay_ws = make_workspaces(via_relay, worktrees, args.workspaces)
            git_ws = make_workspaces(via_git, worktrees, args.workspaces)

            ids = record_workspaces(relay, daemon, via_relay, relay_ws)
            relay_times, git_times = [], []
            # Interleaved, so a busy moment on the machine hits both columns alike.
            for workspace_id, (branch, path) in zip(ids, git_ws, strict=True):
                relay_times.append(relay_merge(relay, workspace_id, args.strategy))
                git_times.append(bare_git_merge(via_git, branch, path))
            for repo in (via_relay, via_git):
                assert len(subjects(repo)) == args.workspaces + 1
                assert git(repo, "rev-list", "--merges", "main") == ""
            daemon_ms = [
                float(ms)
                for ms in re.findall(
                    r"type=workspace\.merge outcome=succeeded ms=(\d+)", daemon.log()
                )
            ]

            # Idle: no commands; the daemon only heartbeats (every 10 s) and pings its socket.
            time.sleep(1.0)
            cpu0, wall0 = cpu_seconds(daemon.pid), time.monotonic()
            time.sleep(args.idle_seconds)
            idle_cpu = (cpu_seconds(daemon.pid) - cpu0) / (time.monotonic() - wall0) * 100
            rss = rss_mb(daemon.pid)
        finally:
            daemon_pid = daemon.pid if daemon.proc is not None else None
            daemon.close()
            relay.close()

    overhead = statistics.median(relay_times) - statistics.median(git_times)
    print(f"relay bench.merge: {args.workspaces} workspaces of one repo, strategy {args.strategy}")
    print(summary("relay + daemon (wall)", relay_times))
    print(summary("  of which in the daemon", [ms / 1000 for ms in daemon_ms]))
    print(summary("bare git script", git_times))
    print(
        f"relay overhead per merge (median): {overhead * 1000:.1f} ms "
        f"({statistics.median(relay_times) / statistics.median(git_times):.2f}x the bare script)"
    )
    print(
        f"daemon idle over {args.idle_seconds:g} s (heartbeat every 10 s): "
        f"CPU {idle_cpu:.2f} % of one core, RSS {rss:.1f} MB"
    )
    load = os.getloadavg()[0]
    print(f"machine load average (1 min) at the end: {load:.2f} on {os.cpu_count()} cores")
    print("per merge, ms (relay | bare git):")
    for index, (r, g) in enumerate(zip(relay_times, git_times, strict=True)):
        print(f"  {index:3d}  {r * 1000:7.1f} | {g * 1000:7.1f}")
    profile_report(relay_pid, what="relay")
    if daemon_pid is not None:
        profile_report(daemon_pid, what="daemon")


if __name__ == "__main__":
    os.environ.update(clean_env())
    main()
