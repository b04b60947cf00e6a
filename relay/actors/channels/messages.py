"""The messages ChannelActor understands; each names the reply it gets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from relay.actors.runtime.bridge import Ask
from relay.domain.agents import AgentCard
from relay.domain.channels import BindingSpec, Channel, ChannelBinding, ChannelRouteTarget

KIND = "channel"


@dataclass(frozen=True, slots=True)
class ChannelState:
    """What routing needs from the channel: it, its bindings, its last-chosen memory."""

    channel: Channel
    bindings: tuple[ChannelBinding, ...]
    last_chosen: dict[str, int]


@dataclass(frozen=True, slots=True)
class ChannelRoute:
    """Whom a post reaches now, and the agent the exclusive bindings chose (if any)."""

    channel: Channel
    targets: list[ChannelRouteTarget]
    chosen: str | None
    # The cards routing judged (those the inbound bindings match), for the send's wake.
    agents: tuple[AgentCard, ...] = ()


@dataclass(frozen=True, slots=True)
class Create(Ask[Channel]):
    """Create the channel. Replies it; Conflict ``channel already exists``."""

    description: str | None
    actor: str  # the caller's sub, for the audit row


@dataclass(frozen=True, slots=True)
class Get(Ask[ChannelState]):
    """Replies the channel's state; NotFound ``channel not found``."""


@dataclass(frozen=True, slots=True)
class Delete(Ask[Channel]):
    """Delete the channel with its bindings. Replies it; NotFound; Forbidden when
    ``removable`` is given and a binding is not in it (one the caller was not judged to
    cover, added since it was judged)."""

    actor: str
    removable: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class AddBinding(Ask[ChannelBinding]):
    """Replies the new binding; NotFound, Conflict ``binding already exists``."""

    spec: BindingSpec
    actor: str


@dataclass(frozen=True, slots=True)
class RemoveBinding(Ask[ChannelBinding]):
    """Replies the removed binding; NotFound ``channel not found`` / ``binding not found``."""

    binding_id: str
    actor: str


@dataclass(frozen=True, slots=True)
class RecordChosen(Ask[None]):
    """A send chose ``agent_id`` exclusively: it becomes the most recently chosen.

    Replies ``None`` once committed; a channel deleted meanwhile is not an error.
    """

    agent_id: str


@dataclass(frozen=True, slots=True)
class Route(Ask[ChannelRoute]):
    """Route a post from ``sender`` among ``agents`` (the cards the inbound bindings match)
    with their stored ``loads``; NotFound ``channel not found``.

    With ``commit`` the exclusive pick is recorded in the same step (the send): it becomes
    the most recently chosen, and its load counts one more until the store shows it, so
    racing sends do not pick the same agent. Without, nothing changes (the dry run), and
    the reply is what a send would pick now.

    ``client_message_id`` (a send that named one): a committed Route remembered for the
    same ``(sender, clientMessageId)`` is replied again and nothing is recorded, so two
    racing first sends of one message move the rotation once and route alike. Remembered
    only if the send accepts it (targets, within the recipient limit), for
    ``rules.RECENT_ROUTE_MS``, and until the bindings change: a later retry routes afresh.
    """

    sender: str | None
    agents: tuple[AgentCard, ...]
    loads: Mapping[str, int]
    commit: bool
    client_message_id: str | None = None
