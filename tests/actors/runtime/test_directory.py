"""AgentDirectory: what the agents' actors hold; a miss means "read the store"."""

from __future__ import annotations

import threading
from typing import Any

from relay.actors.runtime.directory import AgentDirectory, AgentFacts


def test_known_splits_recorded_agents_from_those_to_read() -> None:
    directory = AgentDirectory()
    directory.record("a1", AgentFacts("o1", runner_managed=True, cwd=None))
    directory.record("a2", AgentFacts(None, runner_managed=False, cwd=None))
    found, missing = directory.known(["a1", "a3", "a1", "a2"])
    assert found == {"a1": AgentFacts("o1", True, None), "a2": AgentFacts(None, False, None)}
    assert missing == ["a3"]


def test_a_forgotten_agent_is_read_again() -> None:
    directory = AgentDirectory()
    directory.record("a1", AgentFacts("o1", runner_managed=False, cwd=None))
    directory.record("a1", AgentFacts("o2", runner_managed=False, cwd=None))
    assert directory.known(["a1"]) == ({"a1": AgentFacts("o2", False, None)}, [])
    directory.forget("a1")
    directory.forget("a1")  # twice: nothing to forget
    assert directory.known(["a1"]) == ({}, ["a1"])


def test_a_prime_records_what_it_read_but_not_over_newer_changes() -> None:
    directory = AgentDirectory()
    directory.begin_prime()
    # While the store is read, an actor records a newer card and another agent is deleted.
    directory.record("a1", AgentFacts("o9", False, None))
    directory.forget("a2")
    read = {aid: AgentFacts("o1", False, None) for aid in ("a1", "a2", "a3")}
    directory.prime(read)
    found, missing = directory.known(["a1", "a2", "a3"])
    assert found == {"a1": AgentFacts("o9", False, None), "a3": AgentFacts("o1", False, None)}
    assert missing == ["a2"]
    # The prime is over: later changes are plain changes, nothing is tracked any more.
    directory.forget("a3")
    directory.record("a2", AgentFacts("o2", True, None))
    assert directory.known(["a2", "a3"]) == ({"a2": AgentFacts("o2", True, None)}, ["a3"])


def test_a_change_from_another_thread_during_the_prime_wins() -> None:
    """An actor thread commits a newer card while the prime is writing what it read: the
    newer entry stays, whichever comes first (the change waits for the prime, or the prime
    skips it)."""
    directory = AgentDirectory()
    started = threading.Event()
    newer = AgentFacts("o2", True, None)

    def commit() -> None:
        started.set()
        directory.record("a2", newer)

    changer = threading.Thread(target=commit, daemon=True)

    class Read(dict[str, AgentFacts]):
        def items(self) -> Any:
            for agent_id, facts in super().items():
                if agent_id == "a1":  # between two writes of the prime: the actor commits
                    changer.start()
                    started.wait(5)
                    changer.join(0.5)  # done already without a lock; else it waits for us
                yield agent_id, facts

    directory.begin_prime()
    directory.prime(Read(a1=AgentFacts("o1", False, None), a2=AgentFacts("o1", False, None)))
    changer.join(5)
    assert directory.known(["a1", "a2"])[0] == {"a1": AgentFacts("o1", False, None), "a2": newer}
