"""The actors' own fixtures: a started runtime, with no web app around it.

Tests here talk to the actors as HTTP does, through ``runtime.registry.ask(KIND, key,
Message(...))`` and the aggregates' flows, so they run (and fail) without Quart.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from relay.actors import Runtime, open_runtime
from relay.clock import ManualClock
from relay.settings import Settings


@pytest.fixture
async def runtime(settings: Settings, clock: ManualClock) -> AsyncIterator[Runtime]:
    """The relay's runtime, started on the test's database and stopped after the test.

    Never autouse: pytest-trio may skip an autouse async fixture, so a test that needs
    the runtime asks for it by name. A module that does not test migrations starts from
    the premigrated database by overriding ``database_url`` (see tests/conftest.py).
    """
    async with open_runtime(settings, clock) as started:
        yield started
