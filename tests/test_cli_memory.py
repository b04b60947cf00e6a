"""``relay serve`` refuses to start on an invalid ``RELAY_MEMORY_REDACT_PATTERNS``."""

from __future__ import annotations

import pytest

from tests.test_cli import assert_refused, relay_env, relay_serve


@pytest.mark.parametrize(
    ("patterns", "needle"),
    [
        ('[{"name": "bad", "pattern": "(unclosed"}]', "is not a valid regular expression"),
        ('[{"name": "bad", "pattern": "x*"}]', "matches the empty string"),
        ('[{"pattern": "x"}]', "Field required"),
        ("not json", "RELAY_MEMORY_REDACT_PATTERNS"),
    ],
)
def test_an_invalid_redaction_pattern_stops_start_up(patterns: str, needle: str) -> None:
    result = relay_serve(env=relay_env(RELAY_MEMORY_REDACT_PATTERNS=patterns))
    assert_refused(result, "RELAY_MEMORY_REDACT_PATTERNS", needle)
