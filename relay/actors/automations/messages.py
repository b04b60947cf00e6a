"""The messages AutomationActor understands; each names the reply it gets."""

from __future__ import annotations

from dataclasses import dataclass

from relay.actors.runtime.bridge import Ask
from relay.domain.automations import Automation, AutomationChanges, DispatchResult, DispatchTrigger
from relay.errors import NotFound

KIND = "automation"
KEY = "all"  # one actor: names stay unique and the per-hour cap is counted in one place


@dataclass(frozen=True, slots=True)
class Started:
    """A dispatch begun: the automation as it is now, and whether its cap let it run."""

    automation: Automation
    allowed: bool
    # The automation was already begun for this integration event: the caller runs nothing.
    repeated: bool = False


@dataclass(frozen=True, slots=True)
class Create(Ask[Automation]):
    """Save a new automation (``createdAt`` and ``nextRunAt`` are set here). Replies it;
    Conflict ``automation name already exists``."""

    automation: Automation
    actor: str  # the caller's sub, for the audit row


@dataclass(frozen=True, slots=True)
class Update(Ask[Automation]):
    """Apply ``changes``. Replies the automation; NotFound ``automation not found``,
    Conflict ``version conflict: current version is <n>`` / ``automation name already
    exists``."""

    automation_id: str
    changes: AutomationChanges
    version: int | None
    actor: str


@dataclass(frozen=True, slots=True)
class Delete(Ask[Automation]):
    """Delete it with its dispatch results. Replies it; NotFound, Conflict ``automation
    changed since it was checked`` (``version`` is not the current)."""

    automation_id: str
    actor: str
    version: int | None = None  # the one the caller was authorized against


@dataclass(frozen=True, slots=True)
class Snapshot(Ask[tuple[Automation, ...]]):
    """Replies every automation, by name."""


class Disabled(NotFound):
    """Begin for an event or a schedule of an automation disabled since they picked it: it
    is passed over as one deleted would be (a disable acknowledged is never followed by a
    run it did not ask for)."""

    def __init__(self) -> None:
        super().__init__("automation is disabled")


@dataclass(frozen=True, slots=True)
class Begin(Ask[Started]):
    """Count a run against the per-hour cap if it allows one (the count and the check in
    one step, so concurrent dispatches never pass it). Replies Started; NotFound, Disabled
    (an ``event`` or ``schedule`` run of a disabled automation; a ``manual`` one runs),
    Conflict ``automation changed since it was checked`` (``version`` is not the current)."""

    automation_id: str
    trigger: DispatchTrigger
    event_id: str | None = None  # an integration event: begun once per (event, automation)
    # The version the caller was authorized against (a run by hand): any other is a
    # Conflict, so what runs is what was checked.
    version: int | None = None


@dataclass(frozen=True, slots=True)
class Unbegin(Ask[None]):
    """The result of an event's run could not be kept: a replay of the event may run the
    automation again (at least once)."""

    automation_id: str
    event_id: str


@dataclass(frozen=True, slots=True)
class Record(Ask[DispatchResult]):
    """Keep a dispatch result (its stream event, and its audit row when it failed; the
    oldest past ``RELAY_AUTOMATION_DISPATCH_KEEP`` go). Replies it once committed."""

    result: DispatchResult


@dataclass(frozen=True, slots=True)
class TakeDue(Ask[tuple[Automation, ...]]):
    """The enabled schedules due now, each with ``nextRunAt`` moved to now +
    ``everySeconds`` (committed before the reply: a due run is handed out once)."""


@dataclass(frozen=True, slots=True)
class Untake(Ask[None]):
    """A schedule's run handed out by TakeDue whose result could not be kept: its
    ``nextRunAt`` goes back to ``due_at`` so the next job runs that period again (under the
    same once-key, so an action that did run is not done twice), unless the automation
    changed (``version``), was disabled or deleted since."""

    automation_id: str
    due_at: int
    version: int
