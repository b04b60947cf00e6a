"""Hand-built JWTs for attack tests: tampered, unsigned, wrongly signed, algorithm-confused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

OTHER_SECRET = "another-secret-0123456789abcdef0123456789abcdef"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def decode_segment(segment: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def claims(now_s: int, **overrides: Any) -> dict[str, Any]:
    """A complete runner-token payload; ``overrides`` replace (or, with ``None``, drop) claims."""
    payload: dict[str, Any] = {
        "sub": "runner:sp_forged",
        "role": "provider",
        "scope": ["agent:read", "agent:write"],
        "constraints": {"orchestrators": ["orch-a"], "agents": ["agent-sp_forged"]},
        "jti": "forged-jti",
        "iat": now_s,
        "exp": now_s + 3600,
    }
    for name, value in overrides.items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    return payload


def sign(secret: str, payload: dict[str, Any], *, alg: str = "HS256") -> str:
    """HMAC-SHA256 over header.payload, whatever ``alg`` the header claims."""
    signing_input = f"{b64url_json({'alg': alg, 'typ': 'JWT'})}.{b64url_json(payload)}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def unsigned(payload: dict[str, Any]) -> str:
    """``alg: none`` with an empty signature."""
    return f"{b64url_json({'alg': 'none', 'typ': 'JWT'})}.{b64url_json(payload)}."


def rs256_with_garbage_signature(payload: dict[str, Any]) -> str:
    """An RS256 header with a signature-shaped blob (we hold no RSA key to check it with)."""
    head = f"{b64url_json({'alg': 'RS256', 'typ': 'JWT'})}.{b64url_json(payload)}"
    return f"{head}.{b64url(bytes(range(256)))}"


def tampered(token: str, **changes: Any) -> str:
    """The same header and signature over a payload with ``changes`` applied."""
    header, payload, signature = token.split(".")
    body = decode_segment(payload)
    body.update(changes)
    return f"{header}.{b64url_json(body)}.{signature}"


def payload_of(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = decode_segment(token.split(".")[1])
    return decoded
