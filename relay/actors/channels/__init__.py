"""The channels aggregate: one ChannelActor per channel (its bindings and the memory of whom
it chose last), the routing rules, and the flows a send and the routes share.
"""

from relay.actors.channels.actor import ChannelActor
from relay.actors.channels.flows import (
    add_binding,
    channel_route,
    channel_targets,
    channels_for,
    create_channel,
    delete_channel,
    get_channel,
    inbox_loads,
    list_channels,
    may_post,
    record_chosen,
    remove_binding,
)
from relay.actors.channels.install import install
from relay.actors.channels.messages import (
    KIND,
    AddBinding,
    ChannelRoute,
    ChannelState,
    Create,
    Delete,
    Get,
    RecordChosen,
    RemoveBinding,
    Route,
)

__all__ = [
    "KIND",
    "AddBinding",
    "ChannelActor",
    "ChannelRoute",
    "ChannelState",
    "Create",
    "Delete",
    "Get",
    "RecordChosen",
    "RemoveBinding",
    "Route",
    "add_binding",
    "channel_route",
    "channel_targets",
    "channels_for",
    "create_channel",
    "delete_channel",
    "get_channel",
    "inbox_loads",
    "install",
    "list_channels",
    "may_post",
    "record_chosen",
    "remove_binding",
]
