"""AgentDirectory: what the agents' actors hold; a miss means "read the store"."""

from __future__ import annotations

from relay.actors.runtime.directory import AgentDirectory, AgentFacts


def test_known_splits_recorded_agents_from_those_to_read() -> None:
    directory = AgentDirectory()
    directory.record("a1", AgentFacts("o1", runner_managed=True))
    directory.record("a2", AgentFacts(None, runner_managed=False))
    found, missing = directory.known(["a1", "a3", "a1", "a2"])
    assert found == {"a1": AgentFacts("o1", True), "a2": AgentFacts(None, False)}
    assert missing == ["a3"]


def test_a_forgotten_agent_is_read_again() -> None:
    directory = AgentDirectory()
    directory.record("a1", AgentFacts("o1", runner_managed=False))
    directory.record("a1", AgentFacts("o2", runner_managed=False))
    assert directory.known(["a1"]) == ({"a1": AgentFacts("o2", False)}, [])
    directory.forget("a1")
    directory.forget("a1")  # twice: nothing to forget
    assert directory.known(["a1"]) == ({}, ["a1"])


def test_a_prime_records_what_it_read_but_not_over_newer_changes() -> None:
    directory = AgentDirectory()
    directory.begin_prime()
    # While the store is read, an actor records a newer card and another agent is deleted.
    directory.record("a1", AgentFacts("o9", False))
    directory.forget("a2")
    read = {aid: AgentFacts("o1", False) for aid in ("a1", "a2", "a3")}
    directory.prime(read)
    found, missing = directory.known(["a1", "a2", "a3"])
    assert found == {"a1": AgentFacts("o9", False), "a3": AgentFacts("o1", False)}
    assert missing == ["a2"]
    # The prime is over: later changes are plain changes, nothing is tracked any more.
    directory.forget("a3")
    directory.record("a2", AgentFacts("o2", True))
    assert directory.known(["a2", "a3"]) == ({"a2": AgentFacts("o2", True)}, ["a3"])
