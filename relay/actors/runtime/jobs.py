"""What a maintenance job is: a name, an interval and an async function of the runtime."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from relay.actors.runtime.context import Runtime

JobFunction = Callable[["Runtime"], Awaitable[dict[str, Any]]]

_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A maintenance job, registered once with ``runtime.maintenance.register_job(spec)``.

    ``run`` is awaited on the trio side (so it may ask actors through
    ``runtime.registry.ask`` and use ``runtime.store.run``/``write``); it returns a
    small JSON object (its result, e.g. ``{"changed": 3}``) or raises.

    Raises:
        ValueError: a name that is not lowercase ``a-z0-9-`` (at most 64 characters),
            or an interval that is not positive.
    """

    name: str
    interval_seconds: float
    run: JobFunction

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"job name {self.name!r} must be lowercase a-z0-9- (≤ 64)")
        if not self.interval_seconds > 0:
            raise ValueError(f"job {self.name} needs a positive interval")
