"""Which activity views and stream event kinds a caller reads: the scope each needs beyond
``activity:read``, as the routes of the records they carry need it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from relay.auth.access import Principal


SECURITY_VIEW = "security"  # token issued / revoked / re-minted audits
MEMORY_VIEW = "memory"  # memory events and audits: for memory:read holders
MESSAGES_VIEW = "messages"  # message and delivery events, dead-letter audits
PAIRS_VIEW = "pairs"  # pair events and audits: for task:read holders
COMMANDS_VIEW = "commands"  # command audits: for command:read holders
CHANNELS_VIEW = "channels"  # channel events and audits: for message:read holders

# The scope a view's events and audits need, beyond the stream's and the feed's own
# (``activity:read``): what the view's routes need to read the same records. A task event
# carries the task, result and all; a pair event its parties and objective; a config change
# its value; an automation's dispatch its result and error; an integration event its type
# and subject.
VIEW_SCOPES = {
    SECURITY_VIEW: "token:admin",
    MEMORY_VIEW: "memory:read",
    "tasks": "task:read",
    PAIRS_VIEW: "task:read",
    MESSAGES_VIEW: "message:read",
    COMMANDS_VIEW: "command:read",
    CHANNELS_VIEW: "message:read",
    "config": "config:read",
    "automations": "config:read",
    "integrations": "config:read",
}


# The scope an event kind needs on the stream beyond ``activity:read``, whatever view it
# was published with (one logged before it had a view too): what the routes need to read
# the record it carries. A command event carries the command, params and result; a lease
# event the merge lease (``/api/merge-leases``); a channel event the channel and its
# bindings (logged in the ``config`` view before they had their own).
EVENT_SCOPES = {"command": "command:read", "lease": "command:read", "channel": "message:read"}


def hidden_events(principal: Principal) -> frozenset[str]:
    """Event kinds withheld from this caller on the stream, live and on replay: those whose
    scope (``EVENT_SCOPES``) it does not hold."""
    return frozenset(
        event for event, scope in EVENT_SCOPES.items() if not principal.has_scope(scope)
    )


def hidden_views(principal: Principal) -> frozenset[str]:
    """Activity views withheld from this caller, in the feed and on the stream alike: those
    whose scope (``VIEW_SCOPES``) it does not hold."""
    return frozenset(view for view, scope in VIEW_SCOPES.items() if not principal.has_scope(scope))


def unattributed_hidden_views(principal: Principal) -> frozenset[str]:
    """Views whose rows naming no agent and no orchestrator are withheld from this caller,
    in the feed and on the stream alike: the security view, from a constrained caller.

    Its token audits name neither, so no constraint filters them; each tells of a token
    (sub, jti, role, scope) that such a caller may not manage (``GET /api/tokens``
    withholds its record), and judging a row by that record would cost a read per row,
    and per streamed event. Root and unconstrained ``token:admin`` callers read them all.
    """
    return frozenset({SECURITY_VIEW}) if principal.constrained else frozenset()
