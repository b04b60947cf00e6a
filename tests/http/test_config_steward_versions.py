"""``PUT /api/steward-config`` with the wrapped body ``{value, expectedVersion}``: the
write happens only if the stored version is the one the writer saw (409 ``version
conflict: current version is N`` otherwise, nothing changed), as on
``PUT /api/config/:namespace/:key``. A bad ``expectedVersion`` is 400; an unwrapped body
is the config itself, an ``expectedVersion`` field in it a field like any other."""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.helpers import H

URL = "/api/steward-config"


async def two_versions(client: Any) -> None:
    assert (await client.put(URL, json={"autoMerge": False}, headers=H)).status_code == 201
    second = await client.put(URL, json={"autoMerge": ["/srv/o1/repo"]}, headers=H)
    assert second.status_code == 200


async def stored(client: Any) -> tuple[int, Any]:
    entry = await (await client.get(URL, headers=H)).get_json()
    return entry["version"], entry["value"]


async def test_a_stale_expected_version_is_409_and_changes_nothing(client: Any) -> None:
    await two_versions(client)
    stale = await client.put(
        URL, json={"value": {"autoMerge": True}, "expectedVersion": 1}, headers=H
    )
    assert (stale.status_code, await stale.get_json()) == (
        409,
        {"error": "version conflict: current version is 2"},
    )
    assert await stored(client) == (2, {"autoMerge": ["/srv/o1/repo"]})


async def test_the_current_expected_version_writes(client: Any) -> None:
    await two_versions(client)
    fresh = await client.put(
        URL, json={"value": {"autoMerge": True}, "expectedVersion": 2}, headers=H
    )
    assert fresh.status_code == 200
    assert await stored(client) == (3, {"autoMerge": True})


async def test_expected_version_zero_creates_only_when_absent(client: Any) -> None:
    body = {"value": {"autoMerge": False}, "expectedVersion": 0}
    first = await client.put(URL, json=body, headers=H)
    again = await client.put(URL, json=body, headers=H)
    assert (first.status_code, again.status_code) == (201, 409)
    assert await stored(client) == (1, {"autoMerge": False})


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (-1, "expectedVersion must be at least 0"),
        ("2", "expectedVersion must be an integer"),
        (True, "expectedVersion must be an integer"),
        (2.0, "expectedVersion must be an integer"),
    ],
)
async def test_a_bad_expected_version_is_400_and_changes_nothing(
    client: Any, given: Any, message: str
) -> None:
    await two_versions(client)
    response = await client.put(
        URL, json={"value": {"autoMerge": True}, "expectedVersion": given}, headers=H
    )
    assert (response.status_code, await response.get_json()) == (400, {"error": message})
    assert await stored(client) == (2, {"autoMerge": ["/srv/o1/repo"]})
