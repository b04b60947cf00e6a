"""Config entries, their revisions, and agent profiles."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from relay.http.responses.base import Ok, Shape

__all__ = ["AgentProfile", "ConfigEntry", "ConfigRevision", "DeletedConfig", "DeletedProfile"]


class ConfigEntry(Shape):
    namespace: str
    key: str
    version: int
    value: Any
    updated_at: int | None = Field(description="null only for a steward config never written")
    updated_by: str | None


class ConfigRevision(Shape):
    namespace: str
    key: str
    version: int
    value: Any
    deleted: bool
    updated_at: int
    updated_by: str | None


class DeletedConfig(Ok):
    namespace: str
    key: str
    version: int


class AgentProfile(Shape):
    """The stored profile's fields, plus its name and version."""

    name: str
    version: int
    updated_at: int
    updated_by: str | None


class DeletedProfile(Ok):
    name: str
