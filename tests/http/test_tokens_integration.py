"""Integration tokens from settings, and their per-minute budgets (429 + Retry-After)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

from relay.clock import ManualClock
from relay.http.app import create_app
from relay.settings import IntegrationToken, Settings
from tests.conftest import bearer

CI = "ci-integration-token-0123456789"
GRAFANA = "grafana-integration-token-0123"
PER_MINUTE = 5


@pytest.fixture
async def client(settings: Settings, clock: ManualClock) -> AsyncIterator[Any]:
    integrations = [
        IntegrationToken(
            name="ci", token=CI, scopes=("agent:read", "activity:read"), per_minute=PER_MINUTE
        ),
        IntegrationToken(name="grafana", token=GRAFANA, scopes=("agent:read",), per_minute=1),
    ]
    app = create_app(settings.model_copy(update={"integration_tokens": integrations}), clock=clock)
    async with app.test_app() as test_app:
        yield test_app.test_client()


async def get_agents(client: Any, token: str = CI) -> Any:
    return await client.get("/api/agents", headers=bearer(token))


async def test_integration_token_authenticates_with_its_scopes(client: Any) -> None:
    assert (await get_agents(client)).status_code == 200
    response = await client.post("/api/agents", json={"id": "a1"}, headers=bearer(CI))
    assert response.status_code == 403
    assert await response.get_json() == {"error": "forbidden"}


async def test_budget_exhausted_is_429_with_retry_after(client: Any, clock: ManualClock) -> None:
    for _ in range(PER_MINUTE):
        assert (await get_agents(client)).status_code == 200
    refused = await get_agents(client)
    assert refused.status_code == 429
    assert await refused.get_json() == {"error": "rate limit exceeded"}
    assert refused.headers["Retry-After"] == "60"

    clock.advance(45)
    refused = await get_agents(client)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "15"

    clock.advance(15)
    assert (await get_agents(client)).status_code == 200


async def test_forbidden_requests_spend_the_budget_too(client: Any) -> None:
    for _ in range(PER_MINUTE):
        response = await client.get("/api/tokens", headers=bearer(CI))
        assert response.status_code == 403
    refused = await client.get("/api/tokens", headers=bearer(CI))
    assert refused.status_code == 429
    assert await refused.get_json() == {"error": "rate limit exceeded"}


async def test_each_token_has_its_own_budget(client: Any) -> None:
    assert (await get_agents(client, GRAFANA)).status_code == 200
    assert (await get_agents(client, GRAFANA)).status_code == 429
    assert (await get_agents(client, CI)).status_code == 200


async def test_budget_holds_under_concurrency(client: Any, clock: ManualClock) -> None:
    statuses: list[int] = []

    async def one() -> None:
        statuses.append((await get_agents(client)).status_code)

    async with trio.open_nursery() as nursery:
        for _ in range(40):
            nursery.start_soon(one)
    assert statuses.count(200) == PER_MINUTE
    assert statuses.count(429) == 40 - PER_MINUTE

    clock.advance(60)
    statuses.clear()
    async with trio.open_nursery() as nursery:
        for _ in range(40):
            nursery.start_soon(one)
    assert statuses.count(200) == PER_MINUTE


async def test_integration_token_cannot_be_renewed(client: Any) -> None:
    response = await client.post("/api/runtime-tokens/renew", headers=bearer(CI))
    assert response.status_code == 400
    assert await response.get_json() == {
        "error": "integration tokens cannot be renewed; only component tokens expire"
    }


async def test_near_miss_integration_token_is_unauthorized(client: Any) -> None:
    response = await get_agents(client, CI[:-1] + "x")
    assert response.status_code == 401
    assert await response.get_json() == {"error": "unauthorized"}
