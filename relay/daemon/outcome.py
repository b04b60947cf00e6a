"""What a command came to: a result, or an error (with an optional result)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

JSON = dict[str, Any]
OutcomeStatus = Literal["succeeded", "failed"]


class CommandFailed(Exception):
    """A command that cannot be carried out; ``error`` is what the relay shows."""

    def __init__(self, error: str, result: JSON | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.result = result


@dataclass(frozen=True, slots=True)
class Outcome:
    status: OutcomeStatus
    result: Any = None
    error: str | None = None

    @classmethod
    def succeeded(cls, result: Any) -> Outcome:
        return cls("succeeded", result, None)

    @classmethod
    def failed(cls, error: str, result: Any = None) -> Outcome:
        return cls("failed", result, error)
