"""The web dashboard, served by ``relay serve`` itself.

A single page (Preact + htm, vendored ES modules: no build step, no CDN) that
talks to the same JSON API as every other client and follows ``/api/events``
for live updates. Static files are public; every API call carries the token the
user signed in with.
"""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, Response, send_from_directory

from relay.http.auth import public
from relay.http.contract import Media, responds
from relay.http.cors import connect_sources, member_origins
from relay.http.services import services

STATIC = Path(__file__).parent.parent / "dashboard" / "static"

bp = Blueprint("dashboard", __name__, static_folder=str(STATIC), static_url_path="/static")


def _page_policy() -> str:
    """The page's Content-Security-Policy. It only ever loads its own files. It talks to
    its own origin and, to find the active relay when this one stops answering
    (failover.js), to the cluster's members as the members table lists them now: never to
    an origin the request names."""
    connect = connect_sources(member_origins(services().leadership))
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        f"connect-src {connect}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


@bp.get("/")
@responds(Media("text/html", "the dashboard page"))
@public
async def index() -> Response:
    response = await send_from_directory(STATIC, "index.html")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.after_request
async def page_policy(response: Response) -> Response:
    """Every file of the dashboard, the page at ``/`` and its copy among the static files
    (``/static/index.html``) alike: the page's policy on any HTML, and no type sniffing."""
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = _page_policy()
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
