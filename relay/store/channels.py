"""Channel and binding rows in and out of the store."""

from __future__ import annotations

from typing import cast

from tortoise.functions import Count

from relay.domain.channels import (
    BindingMode,
    Channel,
    ChannelBinding,
    ChannelSummary,
    Direction,
    TargetType,
)
from relay.store import models


def _channel(row: models.Channel) -> Channel:
    return Channel(
        id=row.id,
        description=row.description,
        conversation_id=row.conversation_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _binding(row: models.ChannelBinding) -> ChannelBinding:
    return ChannelBinding(
        id=row.id,
        channel_id=row.channel_id,
        mode=cast(BindingMode, row.mode),
        target_type=cast(TargetType, row.target_type),
        target=row.target,
        direction=cast(Direction, row.direction),
        created_at=row.created_at,
    )


async def load(
    channel_id: str,
) -> tuple[Channel, tuple[ChannelBinding, ...], dict[str, int]] | None:
    """The channel, its bindings (oldest first) and its last-chosen memory."""
    row = await models.Channel.get_or_none(id=channel_id)
    if row is None:
        return None
    bindings = await models.ChannelBinding.filter(channel_id=channel_id).order_by(
        "created_at", "id"
    )
    chosen = {str(k): int(v) for k, v in dict(row.last_chosen or {}).items()}
    return _channel(row), tuple(_binding(b) for b in bindings), chosen


async def insert(channel: Channel) -> None:
    await models.Channel.create(
        id=channel.id,
        description=channel.description,
        conversation_id=channel.conversation_id,
        last_chosen={},
        created_at=channel.created_at,
        updated_at=channel.updated_at,
    )


async def delete(channel_id: str) -> None:
    """The channel with its bindings; its messages stay."""
    await models.ChannelBinding.filter(channel_id=channel_id).delete()
    await models.Channel.filter(id=channel_id).delete()


async def insert_binding(binding: ChannelBinding, updated_at: int) -> None:
    await models.ChannelBinding.create(
        id=binding.id,
        channel_id=binding.channel_id,
        mode=binding.mode,
        target_type=binding.target_type,
        target=binding.target,
        direction=binding.direction,
        created_at=binding.created_at,
    )
    await models.Channel.filter(id=binding.channel_id).update(updated_at=updated_at)


async def delete_binding(channel_id: str, binding_id: str, updated_at: int) -> None:
    await models.ChannelBinding.filter(id=binding_id, channel_id=channel_id).delete()
    await models.Channel.filter(id=channel_id).update(updated_at=updated_at)


async def save_last_chosen(channel_id: str, last_chosen: dict[str, int]) -> None:
    await models.Channel.filter(id=channel_id).update(last_chosen=last_chosen)


async def list_summaries() -> list[ChannelSummary]:
    """Every channel by id, with its binding count and its conversation's last message
    time (``None`` before the first message)."""
    rows = await models.Channel.all().order_by("id")
    counts = dict(
        await models.ChannelBinding.all()
        .group_by("channel_id")
        .annotate(n=Count("id"))
        .values_list("channel_id", "n")
    )
    conversation_ids = [row.conversation_id for row in rows]
    last_at = (
        dict(
            await models.Conversation.filter(id__in=conversation_ids).values_list(
                "id", "last_message_at"
            )
        )
        if conversation_ids
        else {}
    )
    return [
        ChannelSummary(
            _channel(row),
            int(counts.get(row.id, 0)),
            _optional_int(last_at.get(row.conversation_id)),
        )
        for row in rows
    ]


def _optional_int(value: object) -> int | None:
    return int(cast(int, value)) if value is not None else None


async def bindings_by_channel() -> dict[str, tuple[ChannelBinding, ...]]:
    """Every channel's bindings (oldest first), for questions asked of all channels at once
    (which ones an agent may post to) without waking an actor per channel."""
    rows = await models.ChannelBinding.all().order_by("channel_id", "created_at", "id")
    found: dict[str, list[ChannelBinding]] = {}
    for row in rows:
        found.setdefault(row.channel_id, []).append(_binding(row))
    return {channel_id: tuple(bindings) for channel_id, bindings in found.items()}
