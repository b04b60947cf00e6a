"""What an upload may be called and carry: pure checks, each raising the spec's 400."""

from __future__ import annotations

import re

from relay.domain.artifacts import (
    DEFAULT_MEDIA_TYPE,
    KINDS,
    NAME_MAX_LENGTH,
    SENSITIVITIES,
    ArtifactKind,
    Sensitivity,
)
from relay.errors import Invalid

_SHA256 = re.compile(r"[0-9a-f]{64}")
# type/subtype and optional parameters, ASCII without control characters: it is sent back
# as a header, so a CR/LF (which ``\s`` matched) would break the response.
_MEDIA_TYPE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9_.+-]*/[A-Za-z0-9][A-Za-z0-9_.+-]*([ \t]*;[\x20-\x7e]*)?"
)
MEDIA_TYPE_MAX_LENGTH = 255


def check_name(name: str | None) -> str:
    if not name:
        raise Invalid("name is required")
    if len(name) > NAME_MAX_LENGTH:
        raise Invalid(f"name must be at most {NAME_MAX_LENGTH} characters")
    if "/" in name:
        raise Invalid("name must not contain /")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise Invalid("name must not contain control characters")
    return name


def check_kind(kind: str | None) -> ArtifactKind:
    if kind is None or kind == "":
        return "file"
    if kind not in KINDS:
        raise Invalid(f"kind must be one of {', '.join(KINDS)}")
    return kind


def check_sensitivity(sensitivity: str | None) -> Sensitivity:
    if sensitivity is None or sensitivity == "":
        return "normal"
    if sensitivity not in SENSITIVITIES:
        raise Invalid(f"sensitivity must be one of {', '.join(SENSITIVITIES)}")
    return sensitivity


def check_media_type(media_type: str | None) -> str:
    if media_type is None or media_type.strip() == "":
        return DEFAULT_MEDIA_TYPE
    # Anywhere, even at the ends (a tab may stand before a parameter, as in HTTP).
    if any((ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in media_type):
        raise Invalid("mediaType must be a media type such as text/plain")
    media_type = media_type.strip(" \t")
    if len(media_type) > MEDIA_TYPE_MAX_LENGTH or not _MEDIA_TYPE.fullmatch(media_type):
        raise Invalid("mediaType must be a media type such as text/plain")
    return media_type


def check_expected_sha256(value: str | None) -> str | None:
    """``X-Content-SHA256``: 64 hex digits (either case), or absent."""
    if value is None or value == "":
        return None
    lowered = value.strip().lower()
    if not _SHA256.fullmatch(lowered):
        raise Invalid("X-Content-SHA256 must be 64 hex digits")
    return lowered


def blob_parts(sha256: str) -> tuple[str, str]:
    """Where a blob lives under ``sha256/``: ``<2 hex>/<62 hex>``."""
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a sha256: {sha256!r}")
    return sha256[:2], sha256[2:]


def is_collectable(named: bool, modified_ms: int, now_ms: int, grace_ms: int) -> bool:
    """A blob goes when no artifact names it and it is older than the grace period: an
    upload writes its blob before its row commits, and must not lose it meanwhile."""
    return not named and modified_ms <= now_ms - grace_ms


def ascii_fallback(name: str) -> str:
    """A ``filename="..."`` value that needs no escaping: printable ASCII without quotes,
    backslashes or separators (the exact name goes in ``filename*``)."""
    safe = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\;' else "_" for c in name)
    return safe or "artifact"
