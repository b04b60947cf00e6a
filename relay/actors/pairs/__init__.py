"""The pair aggregate: one PairActor per pair (its state table), one PairPartiesActor
(an agent is in at most one open pair), and the flows that send into the pair's
conversation through messaging."""

from relay.actors.pairs.actor import PairActor, PairPartiesActor
from relay.actors.pairs.events import PairEvents
from relay.actors.pairs.flows import NewPair, act, create, listed, opening_text, readable, send
from relay.actors.pairs.install import install
from relay.actors.pairs.messages import KIND, PARTIES_KIND, Act, Create, Release, Reserve
from relay.actors.pairs.rules import TRANSITIONS, Acting

__all__ = [
    "KIND",
    "PARTIES_KIND",
    "TRANSITIONS",
    "Act",
    "Acting",
    "Create",
    "NewPair",
    "PairActor",
    "PairEvents",
    "PairPartiesActor",
    "Release",
    "Reserve",
    "act",
    "create",
    "install",
    "listed",
    "opening_text",
    "readable",
    "send",
]
