"""Backoff bounds, and the daemon's identity file and lock."""

from __future__ import annotations

import random
import stat
from pathlib import Path

import pytest

from relay.daemon import state
from relay.daemon.backoff import Backoff, jittered


def test_backoff_grows_caps_and_jitters() -> None:
    backoff = Backoff(0.5, 8, rng=random.Random(7))
    delays = [backoff.next() for _ in range(10)]
    ceilings = [min(8, 0.5 * 2**n) for n in range(10)]
    assert all(ceiling / 2 <= d <= ceiling for d, ceiling in zip(delays, ceilings, strict=True))
    assert max(delays) <= 8
    backoff.reset()
    assert backoff.next() <= 0.5


def test_heartbeat_jitter_is_never_late() -> None:
    rng = random.Random(1)
    values = [jittered(10, rng) for _ in range(200)]
    assert all(8 <= v <= 10 for v in values)
    assert len(set(values)) > 100


def test_identity_is_kept_with_mode_0600(tmp_path: Path) -> None:
    first = state.resolve(tmp_path, configured_id=None, name="host one")
    assert first.id.startswith("orch-")
    state.save(tmp_path, first.with_token("tok", "http://relay"))
    assert stat.S_IMODE((tmp_path / "orchestrator.json").stat().st_mode) == 0o600
    again = state.resolve(tmp_path, configured_id=None, name=None)
    assert (again.id, again.name, again.token) == (first.id, "host one", "tok")


def test_identity_conflict_is_an_error(tmp_path: Path) -> None:
    state.save(tmp_path, state.OrchestratorState(id="o1", name="n"))
    with pytest.raises(state.StateError, match="belongs to orchestrator o1"):
        state.resolve(tmp_path, configured_id="o2", name=None)


def test_one_daemon_per_base_dir(tmp_path: Path) -> None:
    first = state.DaemonLock(tmp_path)
    first.acquire()
    second = state.DaemonLock(tmp_path)
    with pytest.raises(state.StateError, match="another orchestrator daemon"):
        second.acquire()
    first.release()
    second.acquire()
    second.release()
