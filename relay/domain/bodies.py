"""Request bodies as pydantic models, validated without a web framework: what the HTTP
routes parse and what an action built for one of them (an automation's spawn) is held to.
A validation error becomes the spec's message for the first failing field, e.g.
``prTitle must be at most 240 characters``."""

from __future__ import annotations

import types
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails, PydanticCustomError

from relay.errors import Invalid

M = TypeVar("M", bound=BaseModel)


class Body(BaseModel):
    """Base of request bodies: camelCase on the wire, unknown fields ignored, booleans strict.

    pydantic's lax mode reads ``0``, ``"yes"`` or ``"off"`` as booleans, and ``true`` as the
    number 1; a client that sends them has a bug we want it to hear about (400), so every
    ``bool`` field of every body takes only ``true``/``false``, and no number field takes a
    boolean (``null`` stays where the field is optional).
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def _strict_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name is None or value is None:
            return value
        takes = _takes(cls, info.field_name)
        if bool in takes and not isinstance(value, bool):
            raise PydanticCustomError("bool_type", "Input should be a valid boolean")
        if isinstance(value, bool) and bool not in takes:
            if int in takes:
                raise PydanticCustomError("int_type", "Input should be a valid integer")
            if float in takes:
                raise PydanticCustomError("float_type", "Input should be a valid number")
        return value


@cache
def _takes(model: type[BaseModel], field_name: str) -> frozenset[type]:
    """Which of ``bool``, ``int`` and ``float`` the field is declared as (alone, or in a
    union such as ``int | None``)."""
    annotation = model.model_fields[field_name].annotation
    declared = (
        get_args(annotation)
        if get_origin(annotation) in (Union, types.UnionType)
        else (annotation,)
    )
    return frozenset(t for t in (bool, int, float) if t in declared)


def validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(describe(exc.errors()[0])) from None


def describe(error: ErrorDetails) -> str:
    """The message for one pydantic error, naming the field by its wire name."""
    field = ".".join(str(part) for part in error["loc"]) or "body"
    ctx = error.get("ctx") or {}
    kind = error["type"]
    messages: dict[str, Callable[[], str]] = {
        "missing": lambda: f"{field} is required",
        "string_too_long": lambda: f"{field} must be at most {ctx['max_length']} characters",
        "string_too_short": lambda: (
            f"{field} must not be empty"
            if ctx.get("min_length") == 1
            else f"{field} must be at least {ctx['min_length']} characters"
        ),
        "too_long": lambda: f"{field} must have at most {ctx['max_length']} items",
        "literal_error": lambda: f"{field} must be one of {_choices(str(ctx['expected']))}",
        "enum": lambda: f"{field} must be one of {_choices(str(ctx['expected']))}",
        "string_type": lambda: f"{field} must be a string",
        "bool_type": lambda: f"{field} must be a boolean",
        "bool_parsing": lambda: f"{field} must be a boolean",
        "int_type": lambda: f"{field} must be an integer",
        "int_parsing": lambda: f"{field} must be an integer",
        "int_from_float": lambda: f"{field} must be an integer",
        "float_type": lambda: f"{field} must be a number",
        "dict_type": lambda: f"{field} must be an object",
        "list_type": lambda: f"{field} must be an array",
        "tuple_type": lambda: f"{field} must be an array",
        "greater_than_equal": lambda: f"{field} must be at least {ctx['ge']}",
        "greater_than": lambda: f"{field} must be greater than {ctx['gt']}",
        "less_than_equal": lambda: f"{field} must be at most {ctx['le']}",
        "less_than": lambda: f"{field} must be less than {ctx['lt']}",
        "string_pattern_mismatch": lambda: f"{field} has an invalid format",
        "value_error": lambda: str(ctx.get("error", error["msg"])),
    }
    render = messages.get(kind)
    return render() if render else f"{field} is invalid"


def _choices(expected: str) -> str:
    """pydantic's "'a', 'b' or 'c'" → "a, b, c"."""
    parts = expected.replace(" or ", ", ").split(", ")
    return ", ".join(part.strip().strip("'") for part in parts)
