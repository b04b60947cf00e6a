"""``dispatchmethod``: ``functools.singledispatchmethod`` without a per-instance cache.

CPython 3.13.0 added a cache to ``singledispatchmethod.__get__``: a ``WeakKeyDictionary``
from each instance to a bound function whose closure holds that same instance, so the
weak key is kept alive by its own value and no instance is ever freed, not even by a GC
pass (gh-127750, dropped again in 3.13.1). For actors that meant every passivated actor,
with its state, stayed in memory for the life of the process. This descriptor dispatches
the same way (on the class of the first argument after ``self``, handlers registered by
annotation) and keeps nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import singledispatch
from typing import Any, Generic, TypeVar

R = TypeVar("R")


# Lower case: a decorator, named like the standard one it stands in for.
class dispatchmethod(Generic[R]):
    """Decorate the fallback handler; add handlers with ``@handle.register``."""

    def __init__(self, fallback: Callable[..., R]) -> None:
        self._dispatcher = singledispatch(fallback)
        self.__doc__ = fallback.__doc__

    def register(self, method: Callable[..., Any]) -> Callable[..., Any]:
        """Register ``method`` for the annotated type of its first argument after ``self``."""
        self._dispatcher.register(method)
        return method

    def __get__(self, instance: object, owner: type | None = None) -> Callable[..., R]:
        dispatch = self._dispatcher.dispatch

        def bound(message: Any, /, *args: Any, **kwargs: Any) -> R:
            handler: Callable[..., R] = dispatch(message.__class__)
            return handler(instance, message, *args, **kwargs)

        return bound
