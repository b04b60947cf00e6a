"""Cross-origin reads between the relays of one cluster, for the dashboard without a load
balancer.

A dashboard served by relay A must ask relay B which relay is active once A stops
answering. Its page may therefore connect to the advertised origins of the cluster's
members (``Content-Security-Policy: connect-src``), and ``/readyz`` and ``/api/cluster``
allow exactly those origins to read them (CORS). The origins come from the members table
as the election last read it (``Leadership.members``, refreshed every retry), never from the
request: an ``Origin`` is only ever compared with them. No cookies are involved (the
token is a Bearer header), so ``Access-Control-Allow-Credentials`` is never sent.

One set of rules for the app (the active relay) and the standby gate (a raw ASGI app, which
quart-cors cannot reach, and whose origin list changes while it runs).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable

from relay.election import Leadership

# The routes another relay's dashboard may read: who is active, and whether this one is.
CORS_PATHS = frozenset({"/readyz", "/api/cluster"})
ALLOWED_METHODS = ("GET", "HEAD")
ALLOWED_HEADERS = ("authorization",)
PREFLIGHT_MAX_AGE = "600"
_DEFAULT_PORTS = {"http": 80, "https": 443}
# A host as it may appear in a CSP source and an Origin header: no spaces, quotes, ';' or ','.
_HOST = re.compile(r"[a-z0-9.\-:]+")

Headers = list[tuple[str, str]]


def origin_of(url: str) -> str | None:
    """The origin (``scheme://host[:port]``, the default port left out, as browsers send
    it) of an http(s) URL; None for anything else or a host that could not be one."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not _HOST.fullmatch(host):
        return None
    if ":" in host:
        host = f"[{host}]"  # IPv6
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def member_origins(leadership: Leadership) -> list[str]:
    """The advertised origins of the cluster's members (this one included), sorted."""
    urls = [member.url for member in leadership.members]
    if leadership.lease is not None and leadership.lease.holder_url:
        urls.append(leadership.lease.holder_url)
    return sorted({found for url in urls if (found := origin_of(url)) is not None})


def connect_sources(allowed: Iterable[str]) -> str:
    """The dashboard's ``connect-src``: its own origin and the cluster's members."""
    return " ".join(["'self'", *allowed])


def read_headers(origin: str | None, allowed: Iterable[str]) -> Headers:
    """Headers for a GET of a CORS path: ``Allow-Origin`` for a member's origin only."""
    headers: Headers = [("Vary", "Origin")]
    if origin is not None and origin in set(allowed):
        headers.append(("Access-Control-Allow-Origin", origin))
    return headers


def preflight(
    origin: str | None,
    method: str | None,
    requested_headers: str | None,
    allowed: Iterable[str],
) -> tuple[int, Headers, str | None]:
    """The answer to ``OPTIONS /api/cluster``: status, headers, and an error message.

    A plain OPTIONS (no ``Origin`` or no ``Access-Control-Request-Method``) is told the
    methods (204). A preflight from a member's origin for GET with at most an
    ``Authorization`` header is allowed (204); any other preflight gets 403 and no CORS
    headers, so the browser refuses the request.
    """
    vary = ("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
    if origin is None or method is None:
        return 204, [("Allow", "GET, HEAD, OPTIONS"), vary], None
    if origin not in set(allowed):
        return 403, [vary], "cross-origin requests are allowed only from this cluster's relays"
    if method.upper() not in ALLOWED_METHODS:
        return 403, [vary], f"cross-origin {method.upper()} is not allowed here"
    asked = {name.strip().lower() for name in (requested_headers or "").split(",")} - {""}
    if not asked <= set(ALLOWED_HEADERS):
        return 403, [vary], "cross-origin requests may send only the Authorization header"
    return (
        204,
        [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Allow-Methods", ", ".join(ALLOWED_METHODS)),
            ("Access-Control-Allow-Headers", "Authorization"),
            ("Access-Control-Max-Age", PREFLIGHT_MAX_AGE),
            vary,
        ],
        None,
    )
