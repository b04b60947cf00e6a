"""One place that turns every failure into ``{"error": message}`` with its status."""

from __future__ import annotations

import logging

import pykka
from quart import Quart, Response, jsonify
from werkzeug.exceptions import HTTPException

from relay.errors import RelayError

log = logging.getLogger("relay.http")

_HTTP_MESSAGES = {
    400: "bad request",
    404: "not found",
    405: "method not allowed",
    413: "request body too large",
    415: "unsupported media type",
}


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def install(app: Quart) -> None:
    @app.errorhandler(RelayError)
    async def relay_error(error: RelayError) -> Response:
        return error_response(error.status, error.message, error.headers)

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        # werkzeug's own headers carry meaning (405's ``Allow``); its Content-Type is for
        # the HTML page we replace with JSON.
        headers = {
            name: value for name, value in error.get_headers() if name.lower() != "content-type"
        }
        return error_response(status, _HTTP_MESSAGES.get(status, error.name.lower()), headers)

    @app.errorhandler(pykka.ActorDeadError)
    async def actor_dead(_error: pykka.ActorDeadError) -> Response:
        return error_response(503, "actor unavailable", {"Retry-After": "1"})

    @app.errorhandler(Exception)
    async def unexpected(error: Exception) -> Response:
        log.exception("unhandled_error error=%r", error)
        return error_response(500, "internal error")
