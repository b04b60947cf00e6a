"""HTTP: one blueprint per resource (parse, authorize, call one flow, render).

``create_app(settings)`` is the one public name; ``relay serve`` and the tests use it.
"""

from relay.http.app import create_app

__all__ = ["create_app"]
