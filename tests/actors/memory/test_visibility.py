"""Who sees and who writes a memory, as a table (spec/memory.md)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from relay.actors.memory import visibility
from relay.domain.memory import Memory, Redaction, Viewer

A = Viewer(operator=False, agents=frozenset({"a1"}), cwd=("/srv/one",))
B = Viewer(operator=False, agents=frozenset({"a2"}), cwd=("/srv/one",))
C = Viewer(operator=False, agents=frozenset({"a3"}), cwd=("/srv/two",))
OP = Viewer(operator=True)
WHO = {"A": A, "B": B, "C": C, "op": OP}

BASE = Memory(
    id="mem_1",
    scope="repo",
    scope_key="/srv/one",
    type="project",
    visibility="shared",
    sensitivity="normal",
    confidence="medium",
    redaction_state="clean",
    title="t",
    body="b",
    tags=(),
    source=None,
    created_by="a1",
    version=1,
    serve_count=0,
    last_served_at=None,
    created_at=0,
    updated_at=0,
)

MEMORIES = {
    "agent-a1": replace(BASE, scope="agent", scope_key="a1"),
    "agent-a1-private": replace(BASE, scope="agent", scope_key="a1", visibility="private"),
    "repo-one": BASE,
    "repo-one-private": replace(BASE, visibility="private"),
    "repo-one-secret": replace(BASE, sensitivity="secret"),
    "repo-one-blocked": replace(BASE, redaction_state="blocked"),
    "repo-one-subdir": replace(BASE, scope_key="/srv/one/sub"),
    "repo-onex": replace(BASE, scope_key="/srv/onex"),
    "global": replace(BASE, scope="global", scope_key="", created_by="root"),
    "repo-two": replace(BASE, scope_key="/srv/two", created_by="a3"),
}

# memory → (sees, reads text, may change) for A, B, C, operator
TABLE = {
    "agent-a1": ("YYY", "NNN", "NNN", "YYY"),
    "agent-a1-private": ("YYY", "NNN", "NNN", "YYY"),
    "repo-one": ("YYY", "YYN", "NNN", "YYY"),
    "repo-one-private": ("YYY", "NNN", "NNN", "YYY"),
    "repo-one-secret": ("YYY", "YNN", "NNN", "YYY"),
    "repo-one-blocked": ("NNN", "NNN", "NNN", "YYY"),
    "repo-one-subdir": ("YYY", "YYN", "NNN", "YYY"),
    "repo-onex": ("NNN", "NNN", "NNN", "YYY"),
    "global": ("YYN", "YYN", "YYN", "YYY"),
    "repo-two": ("NNN", "NNN", "YYY", "YYY"),
}


@pytest.mark.parametrize("name", list(TABLE))
@pytest.mark.parametrize("who", list(WHO))
def test_the_table(name: str, who: str) -> None:
    memory, viewer = MEMORIES[name], WHO[who]
    expected = TABLE[name][list(WHO).index(who)]
    sees = visibility.sees(viewer, memory)
    reads = sees and visibility.reads_text(viewer, memory)
    changes = visibility.may_change(viewer, memory)
    assert "".join("Y" if x else "N" for x in (sees, reads, changes)) == expected


@pytest.mark.parametrize(
    ("viewer", "scope", "key", "allowed"),
    [
        (A, "agent", "a1", True),
        (A, "agent", "a2", False),
        (A, "repo", "/srv/one", True),
        (A, "repo", "/srv/one/sub", True),
        (A, "repo", "/srv/onex", False),
        (A, "repo", "/srv/two", False),
        (A, "global", "", False),
        (Viewer(operator=False, agents=frozenset({"a1"})), "repo", "/anywhere", True),
        (Viewer(operator=False), "repo", "/anywhere", False),
        (OP, "global", "", True),
        (OP, "agent", "anyone", True),
    ],
)
def test_who_creates(viewer: Viewer, scope: str, key: str, allowed: bool) -> None:
    assert visibility.may_create(viewer, scope, key) is allowed  # type: ignore[arg-type]


def test_only_operators_set_the_redaction_state() -> None:
    assert visibility.may_set_redaction_state(OP)
    assert not any(visibility.may_set_redaction_state(v) for v in (A, B, C))


def test_a_secret_is_made_readable_only_by_who_reads_it() -> None:
    # a1's own scope, written secret by an operator: a1 may change it, not read it.
    secret = replace(BASE, scope="agent", scope_key="a1", sensitivity="secret", created_by="root")
    assert visibility.may_change(A, secret)
    assert not visibility.reads_text(A, secret)
    assert not visibility.may_set_sensitivity(A, secret, "normal")
    assert visibility.may_set_sensitivity(A, secret, "secret")
    assert visibility.may_set_sensitivity(OP, secret, "normal")
    # Its creator reads it, so may lower it; anyone may raise a memory to secret.
    assert visibility.may_set_sensitivity(A, replace(secret, created_by="a1"), "normal")
    assert visibility.may_set_sensitivity(A, replace(secret, sensitivity="normal"), "secret")


def test_a_write_reply_reports_redactions_only_in_text_the_caller_reads() -> None:
    """Entries about a secret memory's title and body reach only who reads that text (its
    creator, operators); entries about its tags and source reach whoever sees it."""
    found = (
        Redaction("title", "ticket", 1),
        Redaction("body", "ticket", 2),
        Redaction("tags", "ticket", 1),
        Redaction("source.ref", "jwt", 1),
    )
    secret = MEMORIES["repo-one-secret"]
    assert visibility.visible_redactions(B, secret, found) == found[2:]
    assert visibility.visible_redactions(A, secret, found) == found  # its creator
    assert visibility.visible_redactions(OP, secret, found) == found
    assert visibility.visible_redactions(B, MEMORIES["repo-one"], found) == found
