"""What handlers reach through ``current_app``: the runtime and the authenticator."""

from __future__ import annotations

from dataclasses import dataclass

from quart import current_app

from relay.actors.runtime.context import Runtime
from relay.auth.authenticator import Authenticator
from relay.election import Leadership

EXTENSION = "relay"


@dataclass
class Services:
    runtime: Runtime
    auth: Authenticator
    leadership: Leadership


def services() -> Services:
    svc: Services = current_app.extensions[EXTENSION]
    return svc
