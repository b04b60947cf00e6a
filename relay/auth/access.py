"""Who is calling and what they may touch: principals, resources, ``authorize``."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, fields

from relay.auth.views import MESSAGES_VIEW, hidden_views
from relay.domain.agents import Placement
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

    @property
    def constrained(self) -> bool:
        """Whether any constraint limits this caller (root carries none that count)."""
        return not self.is_root and bool(self.constraints)

    @property
    def path_limit(self) -> tuple[str, ...] | None:
        """The caller's ``cwd`` prefixes; None when it is not limited by path (root is not)."""
        prefixes = None if self.is_root else self.constraints.get("cwd")
        return None if prefixes is None else tuple(prefixes)


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
    """An absolute, ``..``-free POSIX path; relative paths are taken from the root. A
    leading ``//`` is ``/`` (``normpath`` keeps it, as POSIX lets it mean something else:
    on Linux it does not, and ``//srv/one`` lay outside a ``/srv/one`` limit)."""
    return "/" + posixpath.normpath(posixpath.join("/", path)).lstrip("/")


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


def hidden_feed_views(principal: Principal) -> frozenset[str]:
    """``hidden_views``, and in the activity feed the messages view from a caller that acts
    for no agent (``acts_for_none``): the feed's rows of that view are dead-letter audits of
    a recipient's delivery, which only those acting for it read over HTTP (the stream
    judges the same rows one by one: ``messaging.events.MessageEvents``)."""
    hidden = hidden_views(principal)
    return hidden | {MESSAGES_VIEW} if acts_for_none(principal) else hidden


def acts_for_none(principal: Principal) -> bool:
    """Whether ``acts_for`` is false for every agent, whatever it is stored as: the caller
    is no operator, names no agent, and is no ``orchestrator`` token naming a host (an
    integration, or a provider token limited to hosts)."""
    if is_operator(principal) or principal.constraints.get("agents"):
        return False
    return not (principal.role == "orchestrator" and principal.constraints.get("orchestrators"))


def visible_agents(principal: Principal) -> frozenset[str] | None:
    """The agents whose events this caller sees, or None for all (activity and stream)."""
    agents = None if principal.is_root else principal.constraints.get("agents")
    return None if agents is None else frozenset(agents)


def visible_orchestrators(principal: Principal) -> frozenset[str] | None:
    """The orchestrators whose activity rows this caller reads, or None for all: rows of
    other orchestrators (and of agents stored under them) are withheld."""
    orchestrators = None if principal.is_root else principal.constraints.get("orchestrators")
    return None if orchestrators is None else frozenset(orchestrators)


def authorize(principal: Principal, scope: str, resource: Resource | None = None) -> None:
    """Raise ``Forbidden`` unless the principal has ``scope`` and may touch ``resource``."""
    if not principal.has_scope(scope):
        raise Forbidden("forbidden")
    if resource is not None and not covers(principal, resource):
        raise Forbidden("forbidden")


OPERATOR_ROLE = "dashboard"


def is_operator(principal: Principal) -> bool:
    """Root, or a dashboard token: the people who run the relay."""
    return principal.is_root or principal.role == OPERATOR_ROLE


def is_unconstrained_operator(principal: Principal) -> bool:
    """An operator whose token carries no constraint: it sees and manages everything.

    A constrained operator (a dashboard token limited to some agents, orchestrators or
    paths) is judged per resource, like any token: by ``acts_for`` and its constraints.
    Every check that lets an operator past a per-resource rule uses this, never
    ``is_operator`` alone.
    """
    return is_operator(principal) and not principal.constraints


def acts_for(principal: Principal, agent_id: str, placement: Placement | None) -> bool:
    """Whether the caller may act as (or for) agent ``agent_id`` — read its inbox, send as it.

    ``placement`` is where the agent is as stored (its orchestrator and working directory),
    never as the request says; None for an agent that is not stored. An operator acts for
    every agent its constraints cover; a token naming the agent in ``constraints.agents``
    for that agent; an ``orchestrator`` token for the agents of the orchestrators it names.
    Every other constraint the token carries must cover the agent as well: a ``cwd`` limit
    its stored working directory (``within_cwd``). Other unconstrained tokens act for no
    agent: an integration reading every inbox would be a leak no operator asked for.
    """
    if not reaches(principal, agent_id, placement):
        return False
    orchestrator_id = None if placement is None else placement.orchestrator_id
    return is_operator(principal) or _names_or_hosts(principal, agent_id, orchestrator_id)


def reaches(principal: Principal, agent_id: str, placement: Placement | None) -> bool:
    """Whether the caller's constraints cover agent ``agent_id`` where it is stored: its id,
    its orchestrator and, for a caller limited by path, its working directory
    (``within_place``). What reading or managing an agent needs (its card, its commands, its
    activity); acting for it needs a role as well (``acts_for``)."""
    orchestrator_id = None if placement is None else placement.orchestrator_id
    return covers(
        principal, Resource(agent_id=agent_id, orchestrator_id=orchestrator_id)
    ) and within_place(principal, agent_id, placement)


# The constraints that limit which agents a caller reads: for a caller carrying one, an
# orchestrator's card lists only the managed sessions of agents it reads.
_AGENT_LIMITS = ("agents", "orchestrators", "cwd")


def redacts_managed_agents(principal: Principal) -> bool:
    """Whether the orchestrator cards this caller reads list only some of their
    ``managedAgents`` (``shows_managed_agent``): its constraints limit the agents it reads
    (``agents``, ``orchestrators``, ``cwd``). Root and every other caller read cards whole,
    and pay for no look-up of the agents."""
    return not principal.is_root and any(kind in principal.constraints for kind in _AGENT_LIMITS)


def shows_managed_agent(principal: Principal, agent_id: str, placement: Placement | None) -> bool:
    """Whether an orchestrator card's ``managedAgents`` entry for ``agent_id`` is shown to a
    caller whose cards are redacted (``redacts_managed_agents``): as reading that agent's
    own card is judged, where it is stored (``reaches``; ``placement`` as stored, never what
    the orchestrator's card says of it). Each entry tells the agent's id and its tmux
    session, which a caller limited to other paths, agents or orchestrators must not learn.
    An entry of an agent not stored (``placement`` None) is not shown: no stored place
    says the caller reaches it."""
    return placement is not None and reaches(principal, agent_id, placement)


def _names_or_hosts(principal: Principal, agent_id: str, orchestrator_id: str | None) -> bool:
    """The token names the agent (``constraints.agents``), or is an ``orchestrator`` token
    naming the orchestrator it is stored under (its host's)."""
    if agent_id in principal.constraints.get("agents", ()):
        return True
    return (
        principal.role == "orchestrator"
        and orchestrator_id is not None
        and orchestrator_id in principal.constraints.get("orchestrators", ())
    )


def within_place(principal: Principal, agent_id: str, placement: Placement | None) -> bool:
    """The half of ``reaches`` that judges where the agent is stored, beyond its ids (the
    event stream's guard judges it too).

    An agent under no orchestrator is judged by ``hosted_within``.

    A stored working directory is judged for every caller (``within_cwd``). An agent that
    recorded none is at no place a path covers, so a path limit alone reaches it not; but
    its own token (which an orchestrator's MCP mint gives the host's cwd) and its host's
    runtime token (``orchestrator:<id>``) reach it by what they name, or those sessions
    could not read their own inbox."""
    if placement is None:
        placement = Placement(None, None)
    if not hosted_within(principal, agent_id, placement.orchestrator_id):
        return False
    if placement.cwd is None:
        if agent_id in principal.constraints.get("agents", ()):
            return True
        # A token named after the host is judged as the host's runtime token or not at all
        # (an orchestrator-role token narrowed to a path below the host's baseDir is not
        # the host, ``is_target``); any other falls to its paths.
        host = placement.orchestrator_id
        if host is not None and principal.sub == f"orchestrator:{host}":
            return runtime_host(principal) == host
    return within_cwd(principal, placement.cwd)


def reaches_host(principal: Principal, orchestrator_id: str, base_dir: str | None) -> bool:
    """Whether the caller reads this orchestrator's card: its constraints cover the
    orchestrator and, for a caller limited by path, the host's stored ``baseDir`` and its
    paths overlap (one lies within the other). An operator limited to ``/srv/o1/x`` reads
    o1's (``/srv/o1``), where it spawns, not o2's (``/srv/o2``), whose name, host, runtime
    and capabilities none of its paths reach. A host whose ``baseDir`` is not known is
    read by no such caller."""
    if not covers(principal, Resource(orchestrator_id=orchestrator_id)):
        return False
    prefixes = principal.path_limit
    if prefixes is None:
        return True
    return base_dir is not None and any(
        path_within(base_dir, prefix) or path_within(prefix, base_dir) for prefix in prefixes
    )


def hosted_within(principal: Principal, agent_id: str, orchestrator_id: str | None) -> bool:
    """The orchestrator half of ``within_place``: an agent under no orchestrator (stored
    so, not stored, or registered so) is on no host an ``orchestrators`` limit names, so
    such a limit reaches it only where the token names the agent too. ``covers`` skips the
    missing orchestrator, and a dashboard limited to o1 would otherwise read, command and
    act for every agent that never said which host runs it."""
    return (
        orchestrator_id is not None
        or "orchestrators" not in principal.constraints
        or agent_id in principal.constraints.get("agents", ())
    )


def runtime_host(principal: Principal) -> str | None:
    """The orchestrator whose runtime token this is, or None: the ``orchestrator`` role,
    named ``orchestrator:<id>`` after an orchestrator its constraints name (its
    registration names it so; no constrained grantor may take that name:
    ``grants.check_nameable``)."""
    host = principal.sub.removeprefix("orchestrator:")
    if (
        principal.role == "orchestrator"
        and host != principal.sub
        and host in principal.constraints.get("orchestrators", ())
    ):
        return host
    return None


def is_host_runtime(principal: Principal) -> bool:
    """Some orchestrator's runtime token (``runtime_host``)."""
    return runtime_host(principal) is not None


def within_cwd(principal: Principal, agent_cwd: str | None) -> bool:
    """Whether the caller's ``cwd`` limit (if any) covers an agent whose stored working
    directory is ``agent_cwd``. An agent recording none is at no known place, so no
    prefix covers it, ``/`` included: ``covers`` would skip the unknown path, and a token
    limited to one host's paths would act for every agent that never said where it works.
    """
    prefixes = principal.path_limit
    return prefixes is None or paths_cover(prefixes, agent_cwd)


def paths_cover(prefixes: Iterable[str], cwd: str | None) -> bool:
    """Whether a working directory lies within one of these prefixes; an unknown one
    (None) within none."""
    return cwd is not None and any(path_within(cwd, prefix) for prefix in prefixes)


def is_named(principal: Principal, name: str) -> bool:
    """Whether the caller is the non-agent principal ``name`` that sent a message or
    created a task, pair or artifact (root, an integration, an orchestrator, a token's
    sub): its sub is that name, and it is bound to no single agent. A token bound to one
    agent sends and creates as that agent, so a sub it was minted with takes nothing."""
    return principal.sub == name and own_agent(principal) is None


def sub_is_agent(principal: Principal) -> bool:
    """Whether the caller, bound to no one agent, is the agent its ``sub`` names when one
    of that id exists and it acts for it: yes for any token but an operator's. Root and a
    dashboard user are themselves: an agent a host registers under their sub (an id the
    host chooses) takes none of what they send or create."""
    return not is_operator(principal)


def own_agent(principal: Principal) -> str | None:
    """The one agent a token is bound to (``constraints.agents`` names exactly one)."""
    agents = principal.constraints.get("agents")
    if agents is not None and len(agents) == 1:
        return agents[0]
    return None
