"""A pair's state table as data, and the pure rules over it (spec tasks.md, "Pairs")."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from relay.domain.pairs import FINAL, PAIR_STATUSES, Pair, PairAction, PairStatus
from relay.errors import Conflict, Forbidden, Invalid

By = Literal["party", "driver", "navigator", "party-creator-operator"]

NOT_FINAL: tuple[PairStatus, ...] = tuple(s for s in PAIR_STATUSES if s not in FINAL)


@dataclass(frozen=True, slots=True)
class Transition:
    """``action`` is allowed from ``sources`` to a caller that is ``by``; it leads to
    ``to`` (None: the status stays, or is computed, as for ``join``)."""

    sources: tuple[PairStatus, ...]
    by: By
    to: PairStatus | None


# The spec's table: action → where from, by whom, where to.
TRANSITIONS: dict[PairAction, Transition] = {
    "join": Transition(("forming", "active", "awaiting_review"), "party", None),
    "request-review": Transition(("active",), "driver", "awaiting_review"),
    "request-changes": Transition(("awaiting_review",), "navigator", "active"),
    "approve": Transition(("awaiting_review",), "navigator", "completed"),
    "abort": Transition(NOT_FINAL, "party-creator-operator", "aborted"),
    "message": Transition(NOT_FINAL, "party", None),
}

_WHO = {
    "party": "the driver or navigator",
    "driver": "the driver",
    "navigator": "the navigator",
    "party-creator-operator": "a party, the creator or an operator",
}


@dataclass(frozen=True, slots=True)
class Acting:
    """What the caller is to a pair, judged by the flow from stored state."""

    driver: bool = False
    navigator: bool = False
    creator: bool = False
    operator: bool = False

    @property
    def party(self) -> bool:
        return self.driver or self.navigator


def allowed_by(by: By, acting: Acting) -> bool:
    if by == "driver":
        return acting.driver
    if by == "navigator":
        return acting.navigator
    if by == "party":
        return acting.party
    return acting.party or acting.creator or acting.operator


def check_create(driver: str, navigator: str, objective: str | None) -> None:
    """Raises Invalid with the spec's message for a pair that cannot be formed."""
    if driver == navigator:
        raise Invalid("driver and navigator must differ")
    if objective is not None and len(objective) > 2000:
        raise Invalid("objective must be at most 2000 characters")


def joined_at_create(driver: str, navigator: str, acting: Acting) -> tuple[str, ...]:
    """The parties the creator acts for are joined from the start."""
    return tuple(
        agent for agent, acts in ((driver, acting.driver), (navigator, acting.navigator)) if acts
    )


def status_of_joined(joined: tuple[str, ...]) -> PairStatus:
    return "active" if len(set(joined)) >= 2 else "forming"


def act(pair: Pair, action: PairAction, acting: Acting, version: int | None, now: int) -> Pair:
    """The pair after ``action`` (the same pair when nothing changes).

    Raises:
        Forbidden: ``only <who> may <action>``.
        Conflict: ``pair is <status>; cannot <action>``, or a stale ``version``.
    """
    transition = TRANSITIONS[action]
    if not allowed_by(transition.by, acting):
        raise Forbidden(f"only {_WHO[transition.by]} may {action}")
    if version is not None and version != pair.version:
        raise Conflict(f"version conflict: current version is {pair.version}")
    if action == "join":
        return _join(pair, acting, now)
    if pair.status not in transition.sources:
        raise Conflict(f"pair is {pair.status}; cannot {action}")
    if transition.to is None:
        return pair
    return replace(pair, status=transition.to, version=pair.version + 1, updated_at=now)


def _join(pair: Pair, acting: Acting, now: int) -> Pair:
    if pair.status in FINAL:
        raise Conflict(f"pair is {pair.status}; cannot join")
    joining = joined_at_create(pair.driver, pair.navigator, acting)
    joined = tuple(dict.fromkeys([*pair.joined, *joining]))
    if joined == pair.joined:
        return pair  # joining again is a no-op
    if pair.status != "forming":
        # Unreachable by construction (both parties joined leave forming), kept as a guard.
        raise Conflict(f"pair is {pair.status}; cannot join")
    status = status_of_joined(joined)
    return replace(pair, joined=joined, status=status, version=pair.version + 1, updated_at=now)


def send_check(pair: Pair) -> None:
    """A message into the pair's conversation: refused once the pair is final."""
    if pair.status in FINAL:
        raise Conflict(f"pair is {pair.status}")
