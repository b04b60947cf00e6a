"""tortoise models: the tables. Nothing above relay.store sees these classes.

One module per aggregate; tortoise finds every model here (``tortoise_config`` lists
``relay.store.models``), so a new model module is imported below.
"""

from __future__ import annotations

from relay.store.models.agents import Agent, AgentTombstone, TimelineEntry
from relay.store.models.artifacts import Artifact, ArtifactLink
from relay.store.models.automations import Automation, AutomationDispatch
from relay.store.models.channels import Channel, ChannelBinding
from relay.store.models.commands import Command
from relay.store.models.config import ConfigEntry, ConfigHistory
from relay.store.models.events import ActivityEvent, StreamEvent
from relay.store.models.integrations import IntegrationEvent
from relay.store.models.maintenance import MaintenanceRun
from relay.store.models.memory import Memory
from relay.store.models.messaging import Conversation, Delivery, Message
from relay.store.models.orchestrators import Orchestrator
from relay.store.models.pairs import Pair
from relay.store.models.tasks import Task
from relay.store.models.tokens import TokenRecord, TokenRevocation
from relay.store.models.workspaces import MergeLease, Workspace

__all__ = [
    "ActivityEvent",
    "Agent",
    "AgentTombstone",
    "Artifact",
    "ArtifactLink",
    "Automation",
    "AutomationDispatch",
    "Channel",
    "ChannelBinding",
    "Command",
    "ConfigEntry",
    "ConfigHistory",
    "Conversation",
    "Delivery",
    "IntegrationEvent",
    "MaintenanceRun",
    "Memory",
    "MergeLease",
    "Message",
    "Orchestrator",
    "Pair",
    "StreamEvent",
    "Task",
    "TimelineEntry",
    "TokenRecord",
    "TokenRevocation",
    "Workspace",
]
