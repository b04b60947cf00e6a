"""What every response shape derives from, and the error every failure returns."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

__all__ = ["Error", "JSONObject", "Ok", "Shape"]


JSONObject = dict[str, Any]


class Shape(BaseModel):
    """Base of response shapes: camelCase, open to fields added later."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


class Error(Shape):
    """Every failure: a message naming the problem (never a traceback)."""

    error: str


class Ok(Shape):
    ok: Literal[True]
