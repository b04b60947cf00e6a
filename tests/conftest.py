"""Shared fixtures: a fresh database per test (SQLite file, or a PostgreSQL database created
and dropped around the test when RELAY_TEST_DATABASE_URL points at a server), the app with its
store and actors started through ``test_app()``, a manual clock, and token helpers."""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import socket
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import pytest
import trio
from quart_trio import QuartTrio
from quart_trio.testing import TrioTestApp

from relay.auth.tokens import TokenSpec
from relay.clock import ManualClock
from relay.http.app import create_app
from relay.http.services import EXTENSION, Services
from relay.settings import Settings
from relay.store.thread import StoreThread

ROOT = "root-test-token"
SECRET = "test-secret-0123456789abcdef0123456789abcdef"

PG_ENV = "RELAY_TEST_DATABASE_URL"

# Quart's test app gives start-up and shutdown 6 s each. Opening a fresh PostgreSQL
# database and migrating it on a loaded CI machine can take longer, and a start-up that
# times out inside ``TrioTestApp.__aenter__`` leaves its nursery open, which trio reports
# as a TrioInternalError at the end of the test instead of a clear failure.
APP_LIFESPAN_TIMEOUT_S = 60


class _PatientTestApp(TrioTestApp):
    def __init__(self, app: QuartTrio) -> None:
        super().__init__(
            app, startup_timeout=APP_LIFESPAN_TIMEOUT_S, shutdown_timeout=APP_LIFESPAN_TIMEOUT_S
        )


QuartTrio.test_app_class = _PatientTestApp  # type: ignore[assignment]


def root_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ROOT}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def run_asyncio(coro: Any) -> Any:
    """Run ``coro`` on a fresh event loop in a thread of its own.

    A plain ``asyncio.run`` fails when the calling thread already has a running loop
    (Playwright's sync API leaves one behind after the browser tests).
    """
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _pg(admin_url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def _migrated(database_url: str) -> None:
    """Apply every migration to ``database_url`` the way the app does, then close it."""
    store = StoreThread(database_url)
    store.start()
    store.stop()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database migrated once per test session, which each test's database copies.

    Migrating a fresh database costs about half a second, most of a test's start-up: over
    the whole suite, minutes. Start-up still runs the migrator, which finds nothing to do;
    the migration tests ask for ``empty_database_url`` instead. On PostgreSQL the template is a
    database of its own (``CREATE DATABASE … TEMPLATE``), dropped after the session.
    """
    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        path = tmp_path_factory.mktemp("template") / "relay.sqlite3"
        _migrated(f"sqlite://{path}")
        # One self-contained file to copy: nothing left in a write-ahead log beside it.
        with closing(sqlite3.connect(path)) as conn:
            conn.execute("PRAGMA journal_mode=DELETE")
        yield str(path)
        return
    name = f"relay_template_{uuid.uuid4().hex[:12]}"
    run_asyncio(_pg(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        _migrated(f"{admin_url.rsplit('/', 1)[0]}/{name}")
        yield name
    finally:
        run_asyncio(_pg(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, not even the migrations: for the migration tests."""
    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        yield f"sqlite://{tmp_path / 'relay.sqlite3'}"
        return
    name = f"relay_test_{uuid.uuid4().hex[:12]}"
    run_asyncio(_pg(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        run_asyncio(_pg(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def database_url(tmp_path: Path, migrated_template: str) -> Iterator[str]:
    """SQLite in the test's own directory, or a throw-away PostgreSQL database; both start
    as copies of the session's migrated template."""
    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        path = tmp_path / "relay.sqlite3"
        shutil.copyfile(migrated_template, path)
        yield f"sqlite://{path}"
        return
    name = f"relay_test_{uuid.uuid4().hex[:12]}"
    run_asyncio(_pg(admin_url, f'CREATE DATABASE "{name}" TEMPLATE "{migrated_template}"'))
    base = admin_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        run_asyncio(_pg(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def sqlite_only_database_url(tmp_path: Path) -> str:
    """A SQLite database for a test of SQLite's own faults; skipped in the PostgreSQL run.

    Not in that run: tortoise 1.1 caches each model's rendered INSERT/UPDATE per
    connection name and table, not per dialect (``EXECUTOR_CACHE``), so after a PostgreSQL
    test the same process sends SQLite ``$1`` placeholders, which Python 3.12+ warns about
    (an error under this suite's ``filterwarnings``).
    """
    if os.environ.get(PG_ENV):
        pytest.skip(f"SQLite-only faults: covered by the run without {PG_ENV}")
    return f"sqlite://{tmp_path / 'relay.sqlite3'}"


@pytest.fixture
def restore_gc() -> Iterator[None]:
    """Undo ``relay.gc_policy.tune_for_serving`` (which serving runs) after the test."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


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


AppSetup = Callable[[QuartTrio], None]


@pytest.fixture
def open_app(settings: Settings, clock: ManualClock) -> Any:
    """``async with open_app(setup=…, **overrides) as t`` → a started test app.

    ``overrides`` replace fields of the test's ``settings`` (e.g. ``max_body_bytes=2048``);
    ``setup(app)`` runs before the app starts (register a throw-away route, an actor kind).
    Each call builds a new app on the same database, so a test can stop one and start
    another (a restart).
    """

    @asynccontextmanager
    async def open_(*, setup: AppSetup | None = None, **overrides: Any) -> AsyncIterator[Any]:
        app_settings = settings.model_copy(update=overrides) if overrides else settings
        application = create_app(app_settings, clock=clock)
        if setup is not None:
            setup(application)
        async with application.test_app() as test_app:
            yield test_app

    return open_


@asynccontextmanager
async def open_store(database_url: str, **options: Any) -> AsyncIterator[StoreThread]:
    """A started ``StoreThread`` (started and stopped off the trio thread)."""
    store = StoreThread(database_url, **options)
    await trio.to_thread.run_sync(store.start)
    try:
        yield store
    finally:
        await trio.to_thread.run_sync(store.stop)


def services_of(test_app: Any) -> Services:
    """The runtime and authenticator of an app opened with ``open_app``."""
    svc: Services = test_app.app.extensions[EXTENSION]
    return svc


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port nothing listens on: connecting is refused. It stays bound for the whole test,
    so a server the test starts on port 0 cannot be given it (it was, once, in CI)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
