"""``relay token …``: the admin token calls, run from the command line (blocking)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from relay.bootstrap import ROOT_TOKEN_FILE
from relay.daemon.client import RelayClient
from relay.daemon.outcome import JSON


def admin_token(given: str | None, data_dir: Path | None) -> str | None:
    """The token to call with: given, else the root token kept in a local relay's data dir."""
    if given:
        return given
    if data_dir is not None:
        path = data_dir / ROOT_TOKEN_FILE
        if path.exists():
            return path.read_text().strip() or None
    return None


def parse_constraints(items: list[str]) -> dict[str, list[str]]:
    """``["orchestrators=o1", "cwd=/srv/a", "cwd=/srv/b"]`` → ``{"orchestrators": ["o1"], …}``.

    Raises:
        ValueError: an item is not ``KEY=VALUE``.
    """
    constraints: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"constraint {item!r} must be KEY=VALUE (e.g. orchestrators=o1)")
        constraints.setdefault(key, []).append(value)
    return constraints


def call(url: str, token: str, method: str, path: str, body: Any = None) -> Any:
    async def go() -> Any:
        client = RelayClient(url, token)
        try:
            return await client.request(method, path, body=body)
        finally:
            await client.aclose()

    return trio.run(go)


def create_token(url: str, token: str, body: JSON) -> JSON:
    reply: JSON = call(url, token, "POST", "/api/tokens", body)
    return reply
