"""The one error family: raised anywhere, rendered as ``{"error": message}`` with ``status``."""

from __future__ import annotations


class RelayError(Exception):
    """A failure the client should see, with its HTTP status and a message."""

    status = 500

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class Invalid(RelayError):
    status = 400


class Unauthorized(RelayError):
    status = 401


class Forbidden(RelayError):
    status = 403


class NotFound(RelayError):
    status = 404


class Conflict(RelayError):
    status = 409


class TooLarge(RelayError):
    status = 413


class Unprocessable(RelayError):
    status = 422


class PreconditionRequired(RelayError):
    status = 428


class RateLimited(RelayError):
    status = 429


class Unavailable(RelayError):
    """An actor or the store did not answer in time; the client may retry."""

    status = 503

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


__all__ = [
    "Conflict",
    "Forbidden",
    "Invalid",
    "NotFound",
    "PreconditionRequired",
    "RateLimited",
    "RelayError",
    "TooLarge",
    "Unauthorized",
    "Unavailable",
    "Unprocessable",
]


class Deposed(Unavailable):
    """A write was refused: another relay holds leadership now (the fence's epoch moved on).

    The process that gets it stops serving (``relay serve`` exits 3); its callers get a 503
    and retry, reaching the new active.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
