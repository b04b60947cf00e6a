"""Which ``message`` and ``delivery`` events a stream subscriber receives: those whose
record it would read over HTTP (``reads``), live and on replay alike.

A delivery's event names its recipient; a message's its sender when that is an agent (as
stored at send time), else no agent: a sender that is no agent (root, an integration, a
token's sub) is never confused with an agent registered under the same id.
"""

from __future__ import annotations

from dataclasses import dataclass

from relay.actors.runtime.acting_guard import ActingGuard
from relay.auth.access import is_named
from relay.auth.views import MESSAGES_VIEW
from relay.store.stream import StreamEvent

EVENTS = frozenset({"message", "delivery"})
VIEW = MESSAGES_VIEW  # theirs, and the message audits': for message:read holders


@dataclass(frozen=True, slots=True)
class MessageEvents(ActingGuard):
    """A stream's guard (``relay.events.EventGuard``) for a caller that is no
    unconstrained operator (``of``): a ``delivery`` event passes if the caller acts for its
    recipient (so does a dead-letter audit, an ``activity`` event of the view), a
    ``message`` event if it acts for its sender, or is the sender that is no agent
    (``is_named``). Other events pass; then ``then`` decides.

    Covering an agent is not acting for it: an integration token limited to o1 reads o1's
    agent cards, never their inboxes or messages, and so none of these events.
    """

    def admits(self, event: StreamEvent) -> bool:
        # The view's audit rows (a dead letter) are about a recipient's delivery: read by
        # those acting for it, as the delivery's own events are.
        judged = event.event in EVENTS or (event.event == "activity" and event.view == VIEW)
        if judged and not self._reads(event):
            return False
        return self.then is None or self.then.admits(event)

    def _reads(self, event: StreamEvent) -> bool:
        agent_id = event.agent_id
        if agent_id is None:
            if event.event != "message":
                return False
            message = event.data.get("message") if isinstance(event.data, dict) else None
            sender = message.get("from") if isinstance(message, dict) else None
            return isinstance(sender, str) and is_named(self._caller, sender)
        return self.acts_for_stored(agent_id)
