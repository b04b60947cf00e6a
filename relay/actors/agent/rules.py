"""Agent rules as pure functions: presence after silence, registration, patches."""

from __future__ import annotations

from dataclasses import replace

from relay.domain.agents import AgentCard, AgentPatch, AgentRegistration


def register_card(existing: AgentCard | None, reg: AgentRegistration, now: int) -> AgentCard:
    """The card after a (re-)registration; registering counts as a heartbeat.

    A re-registration keeps what the client does not send and merges ``meta``.
    """
    if existing is None:
        return AgentCard(
            id=reg.id,
            name=reg.name or reg.id,
            kind=reg.kind or "agent",
            status="online",
            ready=bool(reg.ready),
            tags=reg.tags or (),
            orchestrator_id=reg.orchestrator_id,
            provider_capabilities=reg.provider_capabilities,
            meta=dict(reg.meta or {}),
            registered_at=now,
            last_seen_at=now,
        )
    merged = apply_patch(
        existing,
        AgentPatch(
            name=reg.name,
            ready=reg.ready,
            tags=reg.tags,
            meta=reg.meta,
            provider_capabilities=reg.provider_capabilities,
            orchestrator_id=reg.orchestrator_id,
        ),
    )
    return replace(merged, kind=reg.kind or existing.kind, status="online", last_seen_at=now)


def apply_patch(card: AgentCard, patch: AgentPatch) -> AgentCard:
    """``None`` leaves a field alone; ``meta`` merges key by key (a ``null`` value removes it)."""
    meta = card.meta
    if patch.meta is not None:
        meta = {**card.meta, **patch.meta}
        meta = {key: value for key, value in meta.items() if value is not None}
    return replace(
        card,
        name=patch.name if patch.name is not None else card.name,
        ready=patch.ready if patch.ready is not None else card.ready,
        tags=patch.tags if patch.tags is not None else card.tags,
        meta=meta,
        provider_capabilities=(
            patch.provider_capabilities
            if patch.provider_capabilities is not None
            else card.provider_capabilities
        ),
        orchestrator_id=(
            patch.orchestrator_id if patch.orchestrator_id is not None else card.orchestrator_id
        ),
    )
