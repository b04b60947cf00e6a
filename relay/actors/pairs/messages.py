"""The messages PairActor and PairPartiesActor understand; each names the reply it gets."""

from __future__ import annotations

from dataclasses import dataclass

from relay.actors.pairs.rules import Acting
from relay.actors.runtime.bridge import Ask
from relay.domain.pairs import Pair, PairAction

KIND = "pair"
PARTIES_KIND = "pair-parties"
# One index for the whole relay: an agent is in at most one open pair, across pairs.
PARTIES_KEY = "all"


@dataclass(frozen=True, slots=True)
class Create(Ask[Pair]):
    """Store the new pair (this actor's key is its id). Replies the pair once committed.

    Raises Conflict when a pair with this id exists.
    """

    pair: Pair


@dataclass(frozen=True, slots=True)
class Act(Ask[Pair]):
    """Apply ``action`` as a caller described by ``acting``; replies the pair after it
    (unchanged for ``message`` and a repeated ``join``).

    Raises NotFound ``pair not found``, Forbidden ``only the <party> may <action>``,
    Conflict ``pair is <status>; cannot <action>`` or a version conflict.
    """

    action: PairAction
    acting: Acting
    version: int | None = None


@dataclass(frozen=True, slots=True)
class Abandon(Ask[None]):
    """The create flow stopped waiting for ``Create`` (cancelled, timed out, refused):
    free the parties it reserved unless the pair was created and committed. Handled behind
    any ``Create`` already sent to this actor, so it never frees the parties of a pair
    that is, or is about to be, stored."""


@dataclass(frozen=True, slots=True)
class Reserve(Ask[None]):
    """Put ``agents`` in open pair ``pair_id``, all or none.

    Raises Conflict ``agent <id> is already in pair <pairId>`` for the first agent that is
    in another open pair.
    """

    pair_id: str
    agents: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Release(Ask[None]):
    """Pair ``pair_id`` is final (or its create failed): its agents are free again.

    Told by the PairActor (which never waits on another actor): once a final status is
    committed, or when a create it was asked to abandon stored nothing.
    """

    pair_id: str
