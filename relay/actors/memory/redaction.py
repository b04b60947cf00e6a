"""Redaction: the spec's patterns, in order, then the relay's own credentials, then the
operator's extra patterns (``RELAY_MEMORY_REDACT_PATTERNS``).

Each match is replaced by ``[REDACTED:<name>]``. A pattern runs over the output of the
one before it, so a private key's body is gone before ``credential`` looks at it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from relay.settings import RedactPattern


@dataclass(frozen=True, slots=True)
class Pattern:
    name: str
    regex: re.Pattern[str]


def _builtin(name: str, pattern: str) -> Pattern:
    return Pattern(name, re.compile(pattern))


# The spec's table, in its order (spec/memory.md, "Redaction").
BUILTIN: tuple[Pattern, ...] = (
    _builtin(
        "private-key",
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)",
    ),
    _builtin("anthropic-key", r"\bsk-ant-[A-Za-z0-9_-]{20,}"),
    _builtin("openai-key", r"\bsk-[A-Za-z0-9_-]{20,}"),
    _builtin("github-token", r"\bgh[pousr]_[A-Za-z0-9]{36,}"),
    _builtin("github-pat", r"\bgithub_pat_[A-Za-z0-9_]{22,}"),
    _builtin("aws-access-key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    _builtin("google-api-key", r"\bAIza[0-9A-Za-z_-]{35}"),
    _builtin("slack-token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    _builtin("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    _builtin(
        "credential",
        r"(?i)\b(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token)\b"
        r"\s*[:=]\s*[\"']?[^\s\"']{8,}",
    ),
)

RELAY_CREDENTIAL = "relay-credential"

Found = list[tuple[str, int]]  # (pattern name, matches), in pattern order


def marker(name: str) -> str:
    return f"[REDACTED:{name}]"


def literal_pattern(secrets: Iterable[str]) -> Pattern | None:
    """The relay's own credentials, literally (longest first, so one that contains
    another is replaced whole); None when there are none."""
    values = sorted({s for s in secrets if s}, key=lambda s: (-len(s), s))
    if not values:
        return None
    return Pattern(RELAY_CREDENTIAL, re.compile("|".join(re.escape(v) for v in values)))


def extra_patterns(configured: Sequence[RedactPattern]) -> tuple[Pattern, ...]:
    """``RELAY_MEMORY_REDACT_PATTERNS``, compiled (settings validated them at start-up)."""
    return tuple(Pattern(p.name, re.compile(p.pattern)) for p in configured)


class Redactor:
    """The current list: built-ins, the relay's credentials, the extras, in that order."""

    def __init__(self, *, credentials: Iterable[str] = (), extra: Sequence[Pattern] = ()) -> None:
        literal = literal_pattern(credentials)
        self.patterns: tuple[Pattern, ...] = (
            *BUILTIN,
            *((literal,) if literal is not None else ()),
            *extra,
        )
        # Names this list: a memory stored with this stamp was found unchanged by it (its
        # text leaves as stored), so readers that trust the stamp need not read the text.
        digest = hashlib.sha256()
        for pattern in self.patterns:
            digest.update(
                f"{pattern.name}\0{pattern.regex.flags}\0{pattern.regex.pattern}\0".encode()
            )
        self.stamp = digest.hexdigest()[:32]

    def redact(self, text: str) -> tuple[str, Found]:
        """``text`` with every match replaced, and the names and counts that matched."""
        found: Found = []
        for pattern in self.patterns:
            text, count = pattern.regex.subn(marker(pattern.name), text)
            if count:
                found.append((pattern.name, count))
        return text, found

    def clean(self, text: str) -> str:
        return self.redact(text)[0]


DEFAULT = Redactor()


def redact(text: str, redactor: Redactor = DEFAULT) -> tuple[str, Found]:
    """``text`` redacted by ``redactor`` (the built-in list by default)."""
    return redactor.redact(text)
