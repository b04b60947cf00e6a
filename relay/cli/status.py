"""``relay status``: the cluster as any relay sees it."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from relay.cli.app import cli


@cli.command()
def status(
    relay_url: Annotated[
        str | None,
        typer.Option(
            help="The relay's URL, or several comma-separated: the first that answers is asked "
            "(env RELAY_URL, default http://127.0.0.1:7420)"
        ),
    ] = None,
) -> None:
    """Print the cluster: the active relay, the standbys, the epoch, the last change.

    Asks GET /api/cluster (public, like /metrics) of any relay, active or standby. Exits 1
    when no relay is active, 2 when none of the URLs answers.
    """
    import httpx

    urls = [
        u.strip().rstrip("/")
        for u in (relay_url or os.environ.get("RELAY_URL") or "http://127.0.0.1:7420").split(",")
        if u.strip()
    ]
    body: dict[str, Any] | None = None
    errors: list[str] = []
    for url in urls:
        try:
            response = httpx.get(f"{url}/api/cluster", timeout=5)
            response.raise_for_status()
            body = response.json()
            break
        except (httpx.HTTPError, ValueError) as exc:
            errors.append(f"{url}: {exc}")
    if body is None:
        typer.echo(f"relay status: no relay answered ({'; '.join(errors)})", err=True)
        raise typer.Exit(2)
    typer.echo(format_cluster(body))
    if body.get("active") is None:
        raise typer.Exit(1)


def format_cluster(body: dict[str, Any]) -> str:
    """``GET /api/cluster``'s body as the lines ``relay status`` prints."""
    active = body.get("active")
    lines = [
        f"active:   {active['url']} (id {active['id']}, since {active.get('since') or '-'})"
        if active
        else "active:   none",
    ]
    standbys = body.get("standbys") or []
    if not standbys:
        lines.append("standbys: none")
    for index, standby in enumerate(standbys):
        label = "standbys:" if index == 0 else "         "
        lines.append(f"{label} {standby['url']} (id {standby['id']}, seen {standby['seenAt']})")
    lines.append(f"epoch:    {body.get('epoch')}")
    lines.append(f"changed:  {body.get('changedAt') or '-'}")
    return "\n".join(lines)
