"""The inbox aggregate: one InboxActor per agent, owning its deliveries and their leases."""

from relay.actors.inbox.actor import NOT_LEASED, InboxActor
from relay.actors.inbox.flows import (
    ack,
    enqueue,
    fetch,
    inbox_lease_expiry,
    message_expiry,
    message_retention,
    peek,
)
from relay.actors.inbox.install import install
from relay.actors.inbox.messages import KIND, Ack, ApplyDue, Enqueue, Fetch, FetchWaiter, Peek

__all__ = [
    "KIND",
    "NOT_LEASED",
    "Ack",
    "ApplyDue",
    "Enqueue",
    "Fetch",
    "FetchWaiter",
    "InboxActor",
    "Peek",
    "ack",
    "enqueue",
    "fetch",
    "inbox_lease_expiry",
    "install",
    "message_expiry",
    "message_retention",
    "peek",
]
