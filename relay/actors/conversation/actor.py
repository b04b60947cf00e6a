"""ConversationActor: the only writer of one conversation's messages and of its seq."""

from __future__ import annotations

from typing import Any

from relay.actors.conversation import rules
from relay.actors.conversation.messages import KIND, Accept, Accepted
from relay.actors.runtime import pool
from relay.actors.runtime.aggregate import AggregateActor
from relay.actors.runtime.audit import Change
from relay.actors.runtime.dispatch import dispatchmethod
from relay.actors.runtime.pool import PooledActor
from relay.domain.messages import Conversation, Message
from relay.errors import Conflict, Unavailable
from relay.store import messages as message_store

REUSED = "clientMessageId already used for a different message"


class ConversationActor(PooledActor, AggregateActor):
    kind = KIND

    conversation: Conversation | None = None

    def load(self) -> None:
        self.conversation = self.read_through_queue(
            lambda: message_store.load_conversation(self.key)
        )

    def parting_state(self) -> Any | None:
        # Only this actor writes the conversation (its seq): a 1-tuple, as None is a state.
        return (self.conversation,)

    def resume(self, state: Any) -> None:
        (self.conversation,) = state

    def _settle_last_write(self) -> None:
        last = self._last_write
        if last is None or last.done():
            return
        try:
            with pool.blocking():
                last.result(timeout=self.rt.store.timeout)
        except TimeoutError:
            raise Unavailable("store timed out") from None
        except Exception:  # a failed write is judged by the caller, below
            return

    @dispatchmethod
    def handle(self, message: Any) -> Any:
        raise TypeError(f"ConversationActor cannot handle {message!r}")

    @handle.register
    def _accept(self, message: Accept) -> Accepted:
        draft = message.draft
        existing: Message | None = None
        if draft.client_message_id == draft.id:
            # No clientMessageId was given (it defaults to the new id): nothing can repeat
            # this send, so no read is needed; only this actor's last write must be settled
            # before its seq is built on.
            self._settle_last_write()
        else:
            # Read behind every queued write, so a repeat racing its original finds it.
            existing = self.read_through_queue(
                lambda: message_store.find_by_client_id(draft.sender, draft.client_message_id)
            )
        # If this actor's last write failed, the seq it took was never stored and must be
        # given again now, not after the Reload queued behind us.
        last = self._last_write
        if last is not None and last.done() and last.exception() is not None:
            self._last_write = None
            self.load()
        if existing is not None:
            if not rules.same_send(existing, draft):
                raise Conflict(REUSED)
            return Accepted(existing, False, self._last_write)
        created = self.conversation is None
        conversation, stored = rules.accepted(self.conversation, draft, self.rt.clock.now_ms())
        self.conversation = conversation
        change = Change(
            "message",
            {"change": "created", "message": stored.to_json(with_body=False)},
            view="messages",
            # A sender that is no agent names none: an agent registered under its id later
            # must not be streamed its messages (``messaging.events``).
            agent_id=stored.sender if stored.sender_is_agent else None,
        )
        commit = self.write_changed(
            lambda: message_store.accept(stored, conversation, created=created), [change]
        )
        # Not a Durable reply: the sender queues the deliveries before waiting, so they
        # join this write's group commit (it waits for the commit before answering).
        return Accepted(stored, True, commit)
