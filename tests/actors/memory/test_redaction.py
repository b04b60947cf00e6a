"""The redaction list: each pattern with a match and a near miss, order, extras, settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from relay.actors.memory.redaction import BUILTIN, Redactor, extra_patterns, redact
from relay.settings import RedactPattern, Settings

# name → (text with one match, near miss that matches nothing)
CASES: dict[str, tuple[str, str]] = {
    "private-key": (
        "k: -----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY----- end",
        "k: -----BEGIN PUBLIC KEY-----\nMIIEabc\n-----END PUBLIC KEY-----",
    ),
    "anthropic-key": ("use sk-ant-" + "a1B2" * 5 + " now", "use sk-ant-abcdefghij now"),
    "openai-key": ("use sk-" + "Ab3_" * 5 + " now", "use sk-" + "a" * 19 + " now"),
    "github-token": ("ghp_" + "a" * 36, "ghx_" + "a" * 36),
    "github-pat": ("github_pat_" + "A" * 22, "github_pat_" + "A" * 21),
    "aws-access-key": ("id AKIAABCDEFGHIJKLMNOP x", "id AKIAABCDEFGHIJKLMNO x"),
    "google-api-key": ("AIza" + "b" * 35, "AIza" + "b" * 34),
    "slack-token": ("xoxb-1234567890", "xoxc-1234567890"),
    "jwt": ("eyJhbGciOiJI.eyJzdWIiOiIx.abcdefgh", "eyJhbGciOiJI.eyJzdWIiOiIx"),
    "credential": ("password: hunter2hunter2", "password: short1"),
}


def test_the_spec_list_in_order() -> None:
    assert [p.name for p in BUILTIN] == [*CASES]


@pytest.mark.parametrize("name", list(CASES))
def test_each_pattern_matches_and_its_near_miss_does_not(name: str) -> None:
    hit, miss = CASES[name]
    text, found = redact(hit)
    assert found == [(name, 1)]
    assert f"[REDACTED:{name}]" in text
    assert redact(miss) == (miss, [])


def test_an_unterminated_private_key_is_redacted_to_the_end() -> None:
    text, found = redact("before -----BEGIN PRIVATE KEY-----\nabc\ndef")
    assert (text, found) == ("before [REDACTED:private-key]", [("private-key", 1)])


def test_earlier_patterns_win_and_counts_add_up() -> None:
    text, found = redact("a sk-ant-" + "x" * 20 + " b sk-ant-" + "y" * 20)
    assert found == [("anthropic-key", 2)]
    assert "openai" not in text


def test_credentials_literally_then_extras() -> None:
    extra = extra_patterns([RedactPattern(name="ticket", pattern=r"TKT-[0-9]{6}")])
    redactor = Redactor(credentials=["rt_rootsecretvalue", ""], extra=extra)
    text, found = redactor.redact("root rt_rootsecretvalue and TKT-123456, not TKT-12345")
    assert text == "root [REDACTED:relay-credential] and [REDACTED:ticket], not TKT-12345"
    assert found == [("relay-credential", 1), ("ticket", 1)]
    assert [p.name for p in redactor.patterns][-2:] == ["relay-credential", "ticket"]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [("(unclosed", "is not a valid regular expression"), ("a*", "matches the empty string")],
)
def test_an_invalid_extra_pattern_stops_settings(
    monkeypatch: pytest.MonkeyPatch, pattern: str, message: str
) -> None:
    monkeypatch.setenv(
        "RELAY_MEMORY_REDACT_PATTERNS", f'[{{"name": "bad", "pattern": "{pattern}"}}]'
    )
    with pytest.raises(ValidationError) as raised:
        Settings()
    error = raised.value.errors()[0]
    assert error["loc"][0] == "memory_redact_patterns"
    assert message in error["msg"]
