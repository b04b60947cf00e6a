"""Pure rules of one memory: versions, patches, blocking, redaction on output, search."""

from __future__ import annotations

from dataclasses import replace

import pytest

from relay.actors.memory import rules, search
from relay.actors.memory.redaction import DEFAULT, Redactor, extra_patterns
from relay.domain.memory import Memory, MemoryInput, MemoryPatch, MemoryQuery, Source, Viewer
from relay.errors import Conflict, Invalid
from relay.settings import RedactPattern

GITHUB = "ghp_" + "c" * 36
NOW = 1_000


def made(**fields: object) -> Memory:
    data = MemoryInput(scope="agent", scope_key="a1", type="project", title="t", body="b")
    memory, _ = rules.created(
        replace(data, **fields),  # type: ignore[arg-type]
        memory_id="mem_1",
        created_by="a1",
        now=NOW,
        redactor=DEFAULT,
    )
    return memory


def test_created_is_version_one_and_redacted_per_field() -> None:
    data = MemoryInput(
        scope="agent",
        scope_key="a1",
        type="user",
        title="t",
        body=f"{GITHUB} and {GITHUB}",
        source=Source("url", f"https://x/{GITHUB}"),
    )
    memory, redactions = rules.created(
        data, memory_id="mem_1", created_by="a1", now=NOW, redactor=DEFAULT
    )
    assert (memory.version, memory.created_at, memory.updated_at) == (1, NOW, NOW)
    assert memory.redaction_state == "redacted"
    assert [r.to_json() for r in redactions] == [
        {"field": "body", "name": "github-token", "count": 2},
        {"field": "source.ref", "name": "github-token", "count": 1},
    ]
    assert GITHUB not in memory.body
    assert memory.source is not None
    assert GITHUB not in (memory.source.ref or "")


def test_if_match() -> None:
    memory = made()
    rules.check_version(memory, None)
    rules.check_version(memory, 1)
    with pytest.raises(Conflict, match="version conflict: current version is 1"):
        rules.check_version(memory, 2)


def test_a_patch_moves_the_version_and_keeps_what_it_does_not_name() -> None:
    memory = made(source=Source("task", "T-1"), tags=("a",))
    changed, redactions = rules.patched(
        memory, MemoryPatch(title="new"), now=NOW + 5, redactor=DEFAULT
    )
    assert (changed.title, changed.body, changed.tags, changed.source) == (
        "new",
        "b",
        ("a",),
        Source("task", "T-1"),
    )
    assert (changed.version, changed.updated_at, redactions) == (2, NOW + 5, ())
    cleared, _ = rules.patched(changed, MemoryPatch(clear_source=True), now=NOW, redactor=DEFAULT)
    assert cleared.source is None
    assert cleared.updated_at == NOW + 5  # never backwards


def test_blocked_stays_until_lifted_and_lifting_reads_the_text() -> None:
    plain = made()
    blocked, _ = rules.patched(
        plain, MemoryPatch(redaction_state="blocked"), now=NOW, redactor=DEFAULT
    )
    assert blocked.redaction_state == "blocked"
    edited, _ = rules.patched(blocked, MemoryPatch(body="x"), now=NOW, redactor=DEFAULT)
    assert edited.redaction_state == "blocked"
    lifted, _ = rules.patched(
        edited, MemoryPatch(redaction_state="clean"), now=NOW, redactor=DEFAULT
    )
    assert lifted.redaction_state == "clean"
    marked = made(body=GITHUB)
    again, _ = rules.patched(
        replace(marked, redaction_state="blocked"),
        MemoryPatch(redaction_state="clean"),
        now=NOW,
        redactor=DEFAULT,
    )
    assert again.redaction_state == "redacted"


def test_output_applies_patterns_added_later_and_rescan_rewrites() -> None:
    memory = made(body="ticket TKT-123456")
    later = Redactor(extra=extra_patterns([RedactPattern(name="ticket", pattern="TKT-[0-9]+")]))
    assert rules.for_output(memory, DEFAULT) is memory
    shown = rules.for_output(memory, later)
    assert (shown.body, shown.redaction_state, shown.version) == (
        "ticket [REDACTED:ticket]",
        "redacted",
        1,
    )
    assert rules.rescanned(memory, now=NOW, redactor=DEFAULT) is None
    outcome = rules.rescanned(memory, now=NOW, redactor=later)
    assert outcome is not None
    assert (outcome[0].body, outcome[0].version) == ("ticket [REDACTED:ticket]", 2)
    assert rules.for_output(replace(memory, redaction_state="blocked"), later).redaction_state == (
        "blocked"
    )


def test_events_never_carry_the_body_nor_a_secret_title() -> None:
    data = rules.event_data("created", made())
    assert "body" not in data["memory"]
    assert data["memory"]["title"] == "t"
    secret = rules.event_data("updated", made(sensitivity="secret"))
    assert (secret["memory"]["title"], secret["memory"]["withheld"]) == (None, True)
    audit = rules.redacted_audit(made(), ())
    assert (audit.title, audit.view) == ("Memory redacted", "security")


A = Viewer(operator=False, agents=frozenset({"a1"}))
B = Viewer(operator=False, agents=frozenset({"a2"}))


@pytest.mark.parametrize(
    ("query", "viewer", "hit"),
    [
        (MemoryQuery(terms=("ALPHA",)), A, True),
        (MemoryQuery(terms=("alpha", "gamma")), A, True),
        (MemoryQuery(terms=("alpha", "zeta")), A, False),
        (MemoryQuery(terms=("ops",)), A, True),
        (MemoryQuery(tags=("ops", "x")), A, True),
        (MemoryQuery(tags=("OPS",)), A, False),
        (MemoryQuery(type="user"), A, False),
        (MemoryQuery(created_by="a1"), A, True),
        (MemoryQuery(scope="repo"), A, True),
        (MemoryQuery(scope_key="/srv"), A, False),
        (MemoryQuery(terms=("alpha",)), B, False),  # secret: text withheld from B
        (MemoryQuery(terms=("op",)), B, True),  # its tags are searched
    ],
)
def test_matches(query: MemoryQuery, viewer: Viewer, hit: bool) -> None:
    memory = made(
        scope="repo", scope_key="/srv/one", title="Alpha", body="gamma", tags=("ops", "x")
    )
    memory = replace(memory, sensitivity="secret")
    assert search.matches(memory, query, viewer) is hit


def test_cursor_round_trip_and_garbage() -> None:
    memory = replace(made(), updated_at=42)
    assert search.decode_cursor(search.encode_cursor(memory)) == (42, "mem_1")
    for bad in ("", "!!", "bm9wZQ", "YWJjOmRlZg"):
        with pytest.raises(Invalid, match="cursor is invalid"):
            search.decode_cursor(bad)
