"""``/docs``: Swagger UI over ``/openapi.json``, served from the installed package, offline.

quart-schema's own page loads Swagger UI from a CDN; a relay on a closed network (or a
browser that blocks third-party scripts) would show a blank page. The assets come from
the ``swagger-ui-py`` package, whose files we serve as they are (its Python code is not
used).
"""

from __future__ import annotations

import json
from importlib.util import find_spec
from pathlib import Path

from quart import Blueprint, Response, send_from_directory, url_for
from quart_schema import hide
from werkzeug.exceptions import NotFound

from relay.http.auth import public

ASSETS_PATH = "/docs/assets"
_ASSET_FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png")
_INIT_FILE = "init.js"

bp = Blueprint("docs", __name__)


def assets_dir() -> Path:
    """Where the installed swagger-ui-py keeps Swagger UI's dist files."""
    spec = find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>relay API</title>
  <link rel="stylesheet" href="{css}">
  <link rel="icon" type="image/png" href="{icon}">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{js}"></script>
  <script src="{init}"></script>
</body>
</html>
"""

# A file rather than an inline script: the page's CSP then allows only our own scripts.
_INIT = """window.ui = SwaggerUIBundle({
  url: %s,
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  persistAuthorization: false
});
"""


@bp.get("/docs")
@hide
@public
async def swagger_ui() -> Response:
    page = _PAGE.format(
        css=url_for("docs.asset", filename="swagger-ui.css"),
        js=url_for("docs.asset", filename="swagger-ui-bundle.js"),
        icon=url_for("docs.asset", filename="favicon-32x32.png"),
        init=url_for("docs.asset", filename=_INIT_FILE),
    )
    response = Response(page, content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
    )
    return response


@bp.get(f"{ASSETS_PATH}/<filename>")
@hide
async def asset(filename: str) -> Response:
    """Static files, public like the dashboard's (no ``@public``: see test_route_scopes)."""
    if filename == _INIT_FILE:
        script = _INIT % json.dumps(url_for("openapi"))
        return Response(script, content_type="text/javascript; charset=utf-8")
    if filename not in _ASSET_FILES:
        raise NotFound()
    response = await send_from_directory(assets_dir(), filename)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
