"""Request bodies and query strings: parsed, validated, and their errors named by field.

Bodies are declared as pydantic models (which also feed ``/openapi.json``
through quart-schema); a validation error becomes the spec's message for the
first failing field, e.g. ``prTitle must be at most 240 characters``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from quart import request

# Body, validate and describe hold no web framework: an action built for a route's body
# (an automation's spawn) is validated by the same model, with the same messages.
from relay.domain.bodies import Body as Body
from relay.domain.bodies import describe as describe
from relay.domain.bodies import validate as validate
from relay.errors import Invalid
from relay.http.nul_guard import refuse_nul_in_body
from relay.json_input import MalformedJSON, decode_json

M = TypeVar("M", bound=BaseModel)


async def read_json() -> Any:
    """The body as JSON; the size limit is enforced while reading (413)."""
    raw = await request.get_data(cache=True, as_text=False)
    if not raw or not raw.strip():
        raise Invalid("body required")
    try:
        data = decode_json(raw)
    except MalformedJSON as exc:
        message = "body is nested too deeply" if exc.too_deep else "invalid JSON body"
        raise Invalid(message) from None
    refuse_nul_in_body(raw, data)
    return data


async def read_object() -> dict[str, Any]:
    data = await read_json()
    if not isinstance(data, dict):
        raise Invalid("body required")
    return data


async def parse_body(model: type[M]) -> M:
    return validate(model, await read_object())


def query_int(name: str, default: int, *, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise Invalid(f"{name} must be between {low} and {high}")
    return value


def query_choice(name: str, choices: tuple[str, ...]) -> str | None:
    """An optional query parameter that must be one of ``choices`` (an enum column)."""
    value = request.args.get(name)
    if value is None or value == "":
        return None
    if value not in choices:
        raise Invalid(f"{name} must be one of {', '.join(choices)}")
    return value


def query_str(name: str, *, max_length: int = 500) -> str | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    if len(value) > max_length:
        raise Invalid(f"{name} must be at most {max_length} characters")
    return value
