"""A round trip to the database, for readiness."""

from __future__ import annotations

from tortoise.connection import get_connection


async def ping() -> None:
    await get_connection("default").execute_query("SELECT 1")
