"""Shared fixtures: a fresh database per test (SQLite file, or a PostgreSQL database created
and dropped around the test when RELAY_TEST_DATABASE_URL points at a server), the app with its
store and actors started through ``test_app()``, a manual clock, and token helpers."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from quart_trio import QuartTrio

from relay.auth.tokens import TokenSpec
from relay.clock import ManualClock
from relay.http.app import create_app
from relay.http.services import EXTENSION, Services
from relay.settings import Settings

ROOT = "root-test-token"
SECRET = "test-secret-0123456789abcdef0123456789abcdef"

PG_ENV = "RELAY_TEST_DATABASE_URL"


def root_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ROOT}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _pg(admin_url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """SQLite in the test's own directory, or a throw-away PostgreSQL database."""
    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        yield f"sqlite://{tmp_path / 'relay.sqlite3'}"
        return
    name = f"relay_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg(admin_url, f'CREATE DATABASE "{name}"'))
    base = admin_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(_pg(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        root_token=ROOT,
        secret=SECRET,
        ask_timeout_seconds=10,
        store_timeout_seconds=10,
    )


@pytest.fixture
async def app(settings: Settings, clock: ManualClock) -> AsyncIterator[Any]:
    application = create_app(settings, clock=clock)
    async with application.test_app() as test_app:
        yield test_app


@pytest.fixture
def quart_app(app: Any) -> QuartTrio:
    application: QuartTrio = app.app
    return application


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def services(quart_app: QuartTrio) -> Services:
    svc: Services = quart_app.extensions[EXTENSION]
    return svc


@pytest.fixture
def mint(services: Services) -> Any:
    """``mint(scope=[…], constraints={…}, ttl=…)`` → a signed component token."""

    def make(
        scope: list[str],
        constraints: dict[str, list[str]] | None = None,
        *,
        sub: str = "test-component",
        role: str = "provider",
        ttl: int = 3600,
    ) -> str:
        token, _ = services.auth.mint(
            TokenSpec(
                sub=sub,
                role=role,
                scope=tuple(scope),
                constraints=constraints or {},
                ttl_seconds=ttl,
            )
        )
        return token

    return make
