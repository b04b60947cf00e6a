"""Why ``relay serve`` could not start: one line for the operator, never a traceback."""

from __future__ import annotations


class StartupError(Exception):
    """A start-up failure the operator must fix (``relay serve`` exits 2 with the message)."""


class Unguarded(Exception):
    """The instance lock was lost while serving: the relay stopped (``relay serve`` exits 1)."""


class LeadershipLost(Exception):
    """This active relay lost leadership (PostgreSQL) and stopped (``relay serve`` exits 3)."""


def one_line(exc: BaseException) -> str:
    """An exception as one line: its message, else its type's name."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
