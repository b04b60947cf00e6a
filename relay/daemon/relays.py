"""Which relay URL the daemon talks to, when it has several (an active and its standbys).

The daemon talks to one relay at a time (``RelayUrls.current``). The rules, as plain
functions and one small class so they are unit-tested without a network:

- a connection error or a 503 moves to the next configured URL, in order, wrapping around;
  once every URL failed in one round the caller waits its backoff before the next round;
- a 307/308 from a standby names the active (``Location`` = the active's URL plus the same
  path and query): the daemon moves there at once, even to a URL outside its list (the
  active advertises itself; the configured list is only where to start looking);
- every move is one log line naming the old URL, the new one and why.
"""

from __future__ import annotations

import logging
from urllib.parse import urljoin, urlsplit

log = logging.getLogger("relay.daemon.relays")

REDIRECTS = (307, 308)
# A standby that answered says a new active will be there within the lease: retry this
# soon rather than after a long backoff (unless the standby asked for another pause).
ELECTION_RETRY_SECONDS = 1.0


def split_urls(value: str | list[str]) -> list[str]:
    """``"http://a, http://b"`` or ``["http://a", "http://b,http://c"]`` → the URLs in order.

    Trailing slashes are dropped and duplicates kept once (the first wins).

    Raises:
        ValueError: no URL, or one that is not http:// or https://.
    """
    items = [value] if isinstance(value, str) else value
    urls: list[str] = []
    for item in items:
        for part in item.split(","):
            url = part.strip().rstrip("/")
            if not url:
                continue
            if not url.startswith(("http://", "https://")) or not urlsplit(url).netloc:
                raise ValueError(f"the relay URL {url!r} must start with http:// or https://")
            if url not in urls:
                urls.append(url)
    if not urls:
        raise ValueError("give at least one relay URL")
    return urls


def relay_base(location: str, request_url: str, target: str) -> str | None:
    """The active's base URL from a redirect's ``Location``, or None if it names no relay.

    ``request_url`` is the URL that was asked (``Location`` may be relative to it);
    ``target`` its path and query (``/api/x?wait=1``). The standby keeps the path and
    query, so stripping them leaves the active's advertised URL (with any path prefix a
    proxy adds). A ``Location`` that does not end with them is taken at its origin.
    """
    if not location.strip():
        return None
    absolute = urljoin(request_url, location.strip())
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.netloc:
        return None
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    path_and_query = parts.path + (f"?{parts.query}" if parts.query else "")
    prefix = ""
    for suffix in (target, target.split("?", 1)[0]):
        if suffix and path_and_query.endswith(suffix):
            prefix = parts.path[: len(parts.path) - len(suffix.split("?", 1)[0])]
            break
    return f"{scheme}://{parts.netloc}{prefix}".rstrip("/")


class RelayUrls:
    """The configured URLs, the one in use, and the moves between them."""

    def __init__(self, urls: list[str]) -> None:
        if not urls:
            raise ValueError("give at least one relay URL")
        self.urls = list(urls)
        self.current = self.urls[0]
        self._position = 0  # the configured URL the next failure moves on from
        self.switches = 0

    def __len__(self) -> int:
        return len(self.urls)

    def next_url(self) -> str:
        """The URL a failure of ``current`` moves to (the configured one after the last used)."""
        return self.urls[(self._position + 1) % len(self.urls)]

    def fail(self, reason: str) -> str:
        """``current`` did not answer usefully: move to the next configured URL."""
        self._position = (self._position + 1) % len(self.urls)
        self._move(self.urls[self._position], reason)
        return self.current

    def follow(self, url: str, reason: str) -> str:
        """A standby named the active: use it (kept in the rotation only if configured)."""
        if url in self.urls:
            self._position = self.urls.index(url)
        self._move(url, reason)
        return self.current

    def _move(self, url: str, reason: str) -> None:
        if url == self.current:
            return
        log.warning("relay_switch from=%s to=%s reason=%s", self.current, url, reason)
        self.current = url
        self.switches += 1
