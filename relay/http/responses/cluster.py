"""A process's readiness (``/readyz``) and the processes of the relay (``/api/cluster``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from relay.http.responses.base import Shape

__all__ = ["Cluster", "ClusterActive", "ClusterSelf", "ClusterStandby", "Ready"]


class Ready(Shape):
    ok: Literal[True]
    store: str
    role: Literal["single", "active"]
    epoch: int


class ClusterSelf(Shape):
    id: str
    url: str
    role: Literal["single", "standby", "starting", "active"]


class ClusterActive(Shape):
    id: str
    url: str | None
    since: str | None


class ClusterStandby(Shape):
    id: str
    url: str
    seen_at: str


class Cluster(Shape):
    """The processes of one relay: the active one, the standbys, and the leadership epoch."""

    self_: ClusterSelf = Field(alias="self")
    active: ClusterActive | None
    standbys: list[ClusterStandby]
    epoch: int
    changed_at: str | None
