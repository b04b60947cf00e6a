"""What each route promises, declared next to it, and written into ``/openapi.json``.

A route declares its success shape(s), the errors only it can return, and its query
parameters in one ``@responds(...)``; everything that follows from how the route is built
is added here, in one place, so no blueprint repeats it:

- authenticated routes (``@requires``): 401, 403, 429 (integration tokens' budget) and 503
  (store or actor unavailable, or too many sends in flight, with ``Retry-After``); public
  routes get ``security: []``;
- a documented request body: ``required: true``, 400 (invalid) and 413 (too large);
- query parameters: 400 (out of bounds);
- path parameters: 404 (nothing by that id).

Every error has the one shape ``{"error": string}``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import TypeAdapter
from quart_schema.openapi import OpenAPIProvider
from werkzeug.routing.rules import Rule

from relay.domain.config import KEY_MAX_LENGTH, NAMESPACE_MAX_LENGTH
from relay.http.auth import PUBLIC, SCOPE_ATTRIBUTE
from relay.http.path_ids import PATH_IDS
from relay.http.responses import Error

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

CONTRACT_ATTRIBUTE = "relay_contract"
_REF = "#/components/schemas/{model}"

ERROR_DESCRIPTIONS = {
    400: "invalid input: the message names the field",
    401: "missing, invalid, expired or revoked token",
    403: "the token lacks the scope, or its constraints do not cover the resource",
    404: "not found",
    409: "conflict with the current state",
    413: "request body too large",
    422: "understood, but cannot be carried out in the current state",
    428: "If-Match required: send the version read (its ETag)",
    429: "integration token over its per-minute budget",
    503: "store or actor unavailable, or the relay overloaded (a send past "
    "RELAY_MAX_SENDS_IN_FLIGHT): retry after Retry-After seconds",
}
# The longest id each path parameter can name: the limits the requests are checked against
# (relay.http.path_ids, the config names' rule), so the document and the checks agree.
# A route whose converter states its own bound (``<string(maxlength=64):id>``) wins.
PATH_ID_LENGTHS = {
    **{name: rule.max_length for name, rule in PATH_IDS.items()},
    "namespace": NAMESPACE_MAX_LENGTH,
    "key": KEY_MAX_LENGTH,
    "name": KEY_MAX_LENGTH,  # agent profiles are config keys
}
_CONVERTER_BOUNDS = re.compile(r"\{(\d+),(\d+)\}$")

_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}


@dataclass(frozen=True, slots=True)
class Media:
    """A success that is not JSON (the metrics text, the event stream, a page)."""

    media_type: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class NoContent:
    """A success without a body (a CORS preflight's 204)."""

    description: str = ""
    headers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Query:
    """One query parameter: its name and JSON schema (type and bounds)."""

    name: str
    schema: Mapping[str, Any]
    description: str = ""


def int_param(name: str, low: int, high: int, description: str = "") -> Query:
    return Query(name, {"type": "integer", "minimum": low, "maximum": high}, description)


def str_param(
    name: str, max_length: int = 500, *, enum: Iterable[str] = (), description: str = ""
) -> Query:
    if enum:
        return Query(name, {"type": "string", "enum": list(enum)}, description)
    return Query(name, {"type": "string", "maxLength": max_length}, description)


@dataclass(frozen=True, slots=True)
class Contract:
    success: Mapping[int, Any]
    errors: frozenset[int] = frozenset()
    query: tuple[Query, ...] = ()
    body_optional: bool = False


def responds(
    success: Any,
    *,
    errors: Iterable[int] = (),
    query: Iterable[Query] = (),
    body_optional: bool = False,
) -> Callable[[F], F]:
    """Declare what the route returns.

    Args:
        success: the 200 shape (a response model, ``list[Model]`` or ``Media``), or a
            mapping of status to shape when there are several (``{201: M, 200: M}``).
        errors: statuses the route returns beyond those implied by how it is built
            (see the module docstring), e.g. ``(409,)``.
        query: the query parameters it reads.
        body_optional: the documented body may be left out entirely.
    """
    shapes = dict(success) if isinstance(success, Mapping) else {200: success}
    contract = Contract(shapes, frozenset(errors), tuple(query), body_optional)

    def decorator(view: F) -> F:
        setattr(view, CONTRACT_ATTRIBUTE, contract)
        return view

    return decorator


_STATIC_FILE = Contract({200: Media("*/*", "the file")}, frozenset({404}))


class RelayOpenAPIProvider(OpenAPIProvider):
    """quart-schema's generator, completed from each route's ``@responds`` and scope."""

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        paths, components = super().build_paths(rule)
        view = self._app.view_functions[rule.endpoint]
        contract: Contract | None = getattr(view, CONTRACT_ATTRIBUTE, None)
        scope = getattr(view, SCOPE_ATTRIBUTE, None)
        for operations in paths.values():
            for method, operation in list(operations.items()):
                operation = operations[method] = dict(operation)  # shared between methods
                self._complete(operation, contract, scope, components)
                _bound_path_ids(operation, rule)
        return paths, components

    def _complete(
        self,
        operation: dict[str, Any],
        contract: Contract | None,
        scope: str | None,
        components: dict[str, Any],
    ) -> None:
        parameters = list(operation.get("parameters", []))
        errors: set[int] = set()
        if contract is not None:
            errors |= contract.errors
            for query in contract.query:
                parameter = {"name": query.name, "in": "query", "schema": dict(query.schema)}
                if query.description:
                    parameter["description"] = query.description
                parameters.append(parameter)
        operation["parameters"] = parameters
        if any(each["in"] == "path" for each in parameters):
            errors.add(404)
        if any(each["in"] == "query" for each in parameters):
            errors.add(400)
        if "requestBody" in operation:
            optional = contract is not None and contract.body_optional
            operation["requestBody"] = {**operation["requestBody"], "required": not optional}
            errors |= {400, 413}
        if contract is None and scope is None:
            # Undecorated: the static-file views (see tests/http/test_route_scopes.py).
            contract = _STATIC_FILE
        if scope in (PUBLIC, None):
            operation["security"] = []
        elif scope is not None:
            errors |= {401, 403, 429, 503}

        responses: dict[str, Any] = {}
        for status, shape in (contract.success if contract else {}).items():
            responses[str(status)] = self._success(shape, components)
        for status in sorted(errors):
            responses[str(status)] = self._error(status, components)
        operation["responses"] = responses

    def _success(self, shape: Any, components: dict[str, Any]) -> dict[str, Any]:
        if isinstance(shape, NoContent):
            headers = {name: {"schema": {"type": "string"}} for name in shape.headers}
            return {"description": shape.description or "no content", "headers": headers}
        if isinstance(shape, Media):
            return {
                "description": shape.description or shape.media_type,
                "content": {shape.media_type: {"schema": {"type": "string"}}},
            }
        return {
            "description": (getattr(shape, "__doc__", None) or "").strip() or "success",
            "content": {"application/json": {"schema": _schema(shape, components)}},
        }

    def _error(self, status: int, components: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = {
            "description": ERROR_DESCRIPTIONS.get(status, "error"),
            "content": {"application/json": {"schema": _schema(Error, components)}},
        }
        if status in (429, 503):
            response["headers"] = _RETRY_AFTER
        return response


def _bound_path_ids(operation: dict[str, Any], rule: Rule) -> None:
    """Path strings are 1..N characters: N from the route's converter, else its column."""
    parameters = []
    for parameter in operation["parameters"]:
        if parameter["in"] == "path" and parameter["schema"].get("type") == "string":
            schema = {**parameter["schema"], "minLength": 1}
            converter = rule._converters.get(parameter["name"])  # werkzeug keeps no public view
            bounds = _CONVERTER_BOUNDS.search(getattr(converter, "regex", ""))
            longest = int(bounds.group(2)) if bounds else PATH_ID_LENGTHS.get(parameter["name"])
            if longest is not None:
                schema["maxLength"] = longest
            parameter = {**parameter, "schema": schema}
        parameters.append(parameter)
    operation["parameters"] = parameters


def _schema(shape: Any, components: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of ``shape``; the models it names go to ``components``."""
    schema: dict[str, Any] = TypeAdapter(shape).json_schema(ref_template=_REF, mode="serialization")
    definitions = schema.pop("$defs", {})
    components.update(definitions)
    if "$ref" in schema or schema.get("type") == "array":
        return schema
    # A top-level model: keep it in components too, and refer to it.
    name = getattr(shape, "__name__", None)
    if name is None:
        return schema
    components[name] = schema
    return {"$ref": _REF.format(model=name)}
