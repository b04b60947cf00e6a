"""Agent profiles: named spawn presets, stored as config (namespace ``agent-profiles``).

A profile is the validated body of its ``PUT`` (camelCase, absent fields left out; an
``expectedVersion`` in the body is the version the writer saw, not a profile field);
it is rendered with its ``name`` and the entry's ``version``, ``updatedAt`` and
``updatedBy``. An entry in that namespace whose value is not an object (written
raw through ``/api/config``) is not a profile: it is skipped in the list and 404s.
Profiles are relay-wide (``relay.http.config_auth``): only a caller without constraints
writes or removes one; reading takes ``config:read``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field
from quart import Blueprint
from quart_schema import document_request

from relay.domain.config import (
    AGENT_PROFILES_NAMESPACE,
    KEY_MAX_LENGTH,
    ConfigEntry,
    ConfigWrite,
    check_name,
    check_value,
)
from relay.errors import NotFound
from relay.http import responses
from relay.http.auth import principal, requires
from relay.http.config import max_value_bytes, remove_entry, write_entry
from relay.http.config_auth import allow_config_write
from relay.http.contract import responds
from relay.http.services import services
from relay.http.validation import Body, parse_body
from relay.store import config as config_store

bp = Blueprint("profiles", __name__)

NOT_FOUND = "agent profile not found"

ProviderArg = Annotated[str, Field(max_length=4096)]


class AgentProfileBody(Body):
    provider: Literal["claude", "codex"]
    model: str | None = Field(default=None, min_length=1, max_length=200)
    effort: Literal["low", "medium", "high", "xhigh", "max"] | None = None
    provider_args: list[ProviderArg] | None = Field(default=None, max_length=100)
    approval: Literal["open", "guarded", "read-only"] | None = None
    workspace_mode: Literal["isolated", "shared", "inherit"] | None = None
    label: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    # Not part of the profile: the version the writer last saw (0 = must not exist yet), so a
    # concurrent edit is refused with 409 instead of silently overwritten.
    expected_version: int | None = Field(default=None, ge=0, strict=True)


def _profile(entry: ConfigEntry) -> dict[str, Any] | None:
    if not isinstance(entry.value, dict):
        return None
    return {
        **entry.value,
        "name": entry.key,
        "version": entry.version,
        "updatedAt": entry.updated_at,
        "updatedBy": entry.updated_by,
    }


def _check_name(name: str) -> str:
    return check_name("name", name, KEY_MAX_LENGTH)


@bp.get("/api/agent-profiles")
@responds(list[responses.AgentProfile])
@requires("config:read")
async def list_profiles() -> list[dict[str, Any]]:
    entries = await services().runtime.store.run(
        lambda: config_store.list_namespace(AGENT_PROFILES_NAMESPACE)
    )
    return [profile for entry in entries if (profile := _profile(entry)) is not None]


@bp.get("/api/agent-profiles/<name>")
@responds(responses.AgentProfile, errors=(400,))
@requires("config:read")
async def get_profile(name: str) -> dict[str, Any]:
    _check_name(name)
    entry = await services().runtime.store.run(
        lambda: config_store.get(AGENT_PROFILES_NAMESPACE, name)
    )
    profile = _profile(entry) if entry is not None else None
    if profile is None:
        raise NotFound(NOT_FOUND)
    return profile


@bp.put("/api/agent-profiles/<name>")
@responds({201: responses.AgentProfile, 200: responses.AgentProfile}, errors=(409,))
@document_request(AgentProfileBody)
@requires("config:write")
async def put_profile(name: str) -> tuple[dict[str, Any], int]:
    _check_name(name)
    body = await parse_body(AgentProfileBody)
    value = body.model_dump(
        mode="json", by_alias=True, exclude_none=True, exclude={"expected_version"}
    )
    await allow_config_write(AGENT_PROFILES_NAMESPACE, name, body.expected_version, value)
    written = await write_entry(
        ConfigWrite(
            namespace=AGENT_PROFILES_NAMESPACE,
            key=name,
            value=check_value(value, max_value_bytes(), field="profile"),
            updated_by=principal().sub,
            expected_version=body.expected_version,
        )
    )
    profile = _profile(written.entry)
    assert profile is not None  # we just wrote an object
    return profile, 201 if written.created else 200


@bp.delete("/api/agent-profiles/<name>")
@responds(responses.DeletedProfile, errors=(400,))
@requires("config:write")
async def delete_profile(name: str) -> dict[str, Any]:
    _check_name(name)
    await allow_config_write(AGENT_PROFILES_NAMESPACE, name, None)
    await remove_entry(AGENT_PROFILES_NAMESPACE, name, not_found=NOT_FOUND)
    return {"ok": True, "name": name}
