"""Which actor a request must reach, answered from memory where that is safe.

Settling a command needs its target's actor, and the command id alone does not say which;
queueing one needs to know whether the target names an orchestrator. Both used to cost a
database read per request. The facts kept here can only be trusted in one direction, so a
miss always falls back to the store:

- an open command's target never changes: the queue actors record each command they
  hold and drop it once it settles (a command queued before a restart is looked up);
- an orchestrator is never deleted: an id once seen to be an orchestrator's stays one;
- its ``baseDir`` changes only by its registration, whose write records the new one here
  as it commits (a value read from the store fills a miss only, never overwrites one).
  Every stored one is read at start-up (``remember_hosts``), so the event stream's guard,
  which cannot read the store per event, knows every host; one it does not know (that
  read failed) is withheld from a caller limited by path.

Plain dict and set operations, atomic under the GIL: actor and store threads write, trio
reads (and fills misses).
"""

from __future__ import annotations

from relay.domain.commands import Command, TargetKind


class Routing:
    def __init__(self) -> None:
        self._open_commands: dict[str, tuple[TargetKind, str]] = {}
        self._orchestrators: set[str] = set()
        self._base_dirs: dict[str, str] = {}

    # -- open commands ------------------------------------------------------------------

    def command_opened(self, command: Command) -> None:
        self._open_commands[command.id] = (command.target_kind, command.target)

    def command_settled(self, command_id: str) -> None:
        self._open_commands.pop(command_id, None)

    def command_target(self, command_id: str) -> tuple[TargetKind, str] | None:
        """The target of an open command this relay holds, else None (ask the store)."""
        return self._open_commands.get(command_id)

    # -- orchestrators ------------------------------------------------------------------

    def orchestrator_exists(self, orchestrator_id: str) -> None:
        self._orchestrators.add(orchestrator_id)

    def orchestrator_registered(self, orchestrator_id: str, base_dir: str) -> None:
        self._orchestrators.add(orchestrator_id)
        self._base_dirs[orchestrator_id] = base_dir

    def base_dir_read(self, orchestrator_id: str, base_dir: str) -> None:
        """A ``baseDir`` read from the store: kept unless a registration recorded one since
        (the read may predate it)."""
        self._base_dirs.setdefault(orchestrator_id, base_dir)

    def base_dir(self, orchestrator_id: str) -> str | None:
        """An orchestrator's ``baseDir`` as stored, if known here; None means "ask the store"."""
        return self._base_dirs.get(orchestrator_id)

    def is_orchestrator(self, target: str) -> bool:
        """True if ``target`` is known to be an orchestrator's id; False means "ask the store"."""
        return target in self._orchestrators
