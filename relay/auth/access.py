"""Who is calling and what they may touch: principals, resources, ``authorize``."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, fields

from relay.domain.tokens import SCOPES, Claims
from relay.errors import Forbidden


@dataclass(frozen=True, slots=True)
class Principal:
    sub: str
    role: str
    scope: frozenset[str]
    constraints: dict[str, list[str]]
    jti: str | None = None
    is_root: bool = False
    integration: str | None = None
    claims: Claims | None = None  # the verified token's claims, for component tokens

    @classmethod
    def root(cls) -> Principal:
        return cls(sub="root", role="root", scope=frozenset(SCOPES), constraints={}, is_root=True)

    @classmethod
    def from_claims(cls, claims: Claims) -> Principal:
        return cls(
            sub=claims.sub,
            role=claims.role,
            scope=frozenset(claims.scope),
            constraints=claims.constraints,
            jti=claims.jti,
            claims=claims,
        )

    @classmethod
    def for_integration(cls, name: str, scope: tuple[str, ...]) -> Principal:
        return cls(
            sub=f"integration:{name}",
            role="integration",
            scope=frozenset(scope),
            constraints={},
            integration=name,
        )

    def has_scope(self, scope: str) -> bool:
        return self.is_root or scope in self.scope


@dataclass(frozen=True, slots=True)
class Resource:
    """The resources a request touches; ``None`` fields are not part of this request."""

    agent_id: str | None = None
    orchestrator_id: str | None = None
    cwd: str | None = None
    policy_name: str | None = None
    spawn_request_id: str | None = None


# resource field → the token constraint that limits it
_CONSTRAINT_OF = {
    "agent_id": "agents",
    "orchestrator_id": "orchestrators",
    "cwd": "cwd",
    "policy_name": "policyNames",
    "spawn_request_id": "spawnRequestIds",
}


CONSTRAINT_KINDS = tuple(_CONSTRAINT_OF.values())


def normalise_path(path: str) -> str:
    """An absolute, ``..``-free POSIX path; relative paths are taken from the root."""
    return posixpath.normpath(posixpath.join("/", path))


def path_within(path: str, prefix: str) -> bool:
    """``path`` equals ``prefix`` or lies below it, component-wise (``/srv/ab`` ∉ ``/srv/a``)."""
    path, prefix = normalise_path(path), normalise_path(prefix)
    return prefix == "/" or path == prefix or path.startswith(prefix + "/")


def covers(principal: Principal, resource: Resource) -> bool:
    """Whether the principal's constraints allow every resource the request names."""
    if principal.is_root:
        return True
    for f in fields(resource):
        value = getattr(resource, f.name)
        allowed = principal.constraints.get(_CONSTRAINT_OF[f.name])
        if value is None or allowed is None:
            continue
        if f.name == "cwd":
            if not any(path_within(value, prefix) for prefix in allowed):
                return False
        elif value not in allowed:
            return False
    return True


SECURITY_VIEW = "security"  # token issued / revoked / re-minted audits


def hidden_views(principal: Principal) -> frozenset[str]:
    """Activity views withheld from this caller, in the feed and on the stream alike:
    security audits are for ``token:admin`` holders."""
    return frozenset() if principal.has_scope("token:admin") else frozenset({SECURITY_VIEW})


def visible_agents(principal: Principal) -> frozenset[str] | None:
    """The agents whose events this caller sees, or None for all (activity and stream)."""
    agents = None if principal.is_root else principal.constraints.get("agents")
    return None if agents is None else frozenset(agents)


def authorize(principal: Principal, scope: str, resource: Resource | None = None) -> None:
    """Raise ``Forbidden`` unless the principal has ``scope`` and may touch ``resource``."""
    if not principal.has_scope(scope):
        raise Forbidden("forbidden")
    if resource is not None and not covers(principal, resource):
        raise Forbidden("forbidden")
