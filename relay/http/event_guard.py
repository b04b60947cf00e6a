"""The event stream's guard for a constrained caller (``ConstrainedEvents``)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from relay.actors.runtime.directory import AgentDirectory, AgentFacts
from relay.actors.runtime.routing import Routing
from relay.actors.tokens.runner_tokens import RUNNER_PREFIX, is_runner
from relay.auth.access import (
    Principal,
    Resource,
    covers,
    reaches_host,
    redacts_managed_agents,
    shows_managed_agent,
    within_cwd,
    within_place,
)
from relay.auth.command_params import named_agents
from relay.auth.views import unattributed_hidden_views
from relay.domain.agents import Placement, placement_of
from relay.domain.commands import TargetKind
from relay.domain.config import SPAWN_POLICIES_NAMESPACE
from relay.domain.orchestrators import keeping_managed
from relay.events import EventGuard, RedactingGuard
from relay.http.auth import workspace_resources
from relay.http.command_auth import may_read_command
from relay.http.orchestrator_auth import BaseDirs
from relay.store.activity import HOST_VIEWS
from relay.store.stream import StreamEvent


@dataclass(frozen=True, slots=True)
class ConstrainedEvents:
    """A stream's guard (``relay.events.EventGuard``) for a constrained caller: an
    ``agent``, ``orchestrator``, ``command``, ``workspace`` or ``lease`` event passes only if
    the caller's constraints cover the resource it carries, as that resource's own reads
    judge it (``can_see`` of the agent lists, ``visible_commands``, ``may_touch_workspace``),
    live and on replay alike (a ``lease`` event by the workspace it carries, as the lease
    list judges it, ``lease_auth``); an ``activity`` event as ``GET /api/activity`` reads
    its row (by the agent and orchestrator it names; a security audit naming neither is
    withheld, ``unattributed_hidden_views``); any other event published for an agent (a
    message, a delivery, a task) by that agent and, for a caller limited by orchestrator,
    the orchestrator it is stored under; a ``pair`` event by its parties, one of which the
    caller must cover; other events pass. Then ``then`` decides.

    The stream's own filter judges an event by the agent it names only: an orchestrator's
    runtime token (limited to its orchestrator and ``baseDir``) would otherwise be streamed
    every other orchestrator's agents, commands, workspaces and leases.

    A ``command`` event is judged by ``may_read_command`` too, as the command's list and
    ``GET /api/commands/:id`` judge it: by what its params name, unless the caller takes the
    target's queue (an orchestrator's runtime token). Whether it is the orchestrator is
    judged on the ``baseDir`` stored when the stream opened (``base_dirs``, read then by
    ``stored_base_dirs``), never a store read per event.

    For a caller limited by orchestrator, a command to an agent, each agent a command's
    params name and a workspace of an agent are judged on the orchestrator that agent is
    stored under too, as ``visible_commands`` and ``may_touch_workspace`` judge them, from
    the agents' actors' memory (``agents``, ``AgentDirectory``): never a store read per
    event. A command to an agent that memory does not hold is withheld from such a caller;
    an agent its params name that memory does not hold is judged as stored under no
    orchestrator the caller names (the list, reading the store, may judge it as a new one);
    a workspace's agent is then judged as an unknown one, by the workspace's own fields.

    For a caller limited by path, an event published for an agent, the agent an activity
    row names and a pair's parties are judged as ``acts_for`` judges them: on the agent's
    stored working directory, from that memory too (``within_place``: an agent it does not
    hold is covered by none, one that recorded none only for its own token or its host's,
    ``host``).

    An ``orchestrator`` event it admits reaches a caller whose constraints limit the agents
    it reads as ``GET /api/orchestrators/:id`` serves the card (``redact``): its
    ``managedAgents`` lists only the agents the caller reaches where memory holds them
    stored (``shows_managed_agent``).
    """

    constraints: tuple[tuple[str, tuple[str, ...]], ...]
    then: EventGuard | None = None
    # Only for a caller limited by agent, orchestrator or path (``redacts_managed_agents``).
    agents: AgentDirectory | None = None
    runner: bool = False  # a runner token, which is never its orchestrator (``is_target``)
    # An ``orchestrator`` token's sub: its host's runtime token reaches its agents at no
    # recorded place (``within_place``).
    host: str | None = None
    # ``stored_base_dirs`` of the caller, as pairs (hashable: part of the group's key).
    base_dirs: tuple[tuple[str, str | None], ...] = ()
    hosts: Routing | None = None  # only for a caller limited by path: the hosts' baseDirs
    # ``constraints`` as the Principal ``covers`` judges, built once, not per event; left
    # out of equality (streams with the same constraints share one filter group).
    _caller: Principal = field(init=False, compare=False, hash=False, repr=False)
    _base_dirs: BaseDirs = field(init=False, compare=False, hash=False, repr=False)
    _by_orchestrator: bool = field(init=False, compare=False, hash=False, repr=False)
    _by_path: bool = field(init=False, compare=False, hash=False, repr=False)
    _redacts: bool = field(init=False, compare=False, hash=False, repr=False)
    _then_redact: RedactingGuard | None = field(init=False, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        caller = Principal(
            # ``is_target`` tells a runner token by its sub, ``within_place`` its host's
            # runtime token by its role and sub; nothing else here reads them.
            sub=RUNNER_PREFIX if self.runner else (self.host or ""),
            role="orchestrator" if self.host is not None else "",
            scope=frozenset(),
            constraints={k: list(v) for k, v in self.constraints},
        )
        object.__setattr__(self, "_caller", caller)
        object.__setattr__(self, "_base_dirs", dict(self.base_dirs))
        limits = {kind for kind, _ in self.constraints}
        object.__setattr__(self, "_by_orchestrator", "orchestrators" in limits)
        object.__setattr__(self, "_by_path", "cwd" in limits)
        object.__setattr__(self, "_redacts", redacts_managed_agents(caller))
        then = self.then if isinstance(self.then, RedactingGuard) else None
        object.__setattr__(self, "_then_redact", then)

    @classmethod
    def of(
        cls,
        caller: Principal,
        then: EventGuard | None,
        agents: AgentDirectory,
        base_dirs: BaseDirs,
        hosts: Routing,
    ) -> EventGuard | None:
        """The guard for ``caller``: ``then`` alone for root and unconstrained callers.
        ``base_dirs``: the caller's ``stored_base_dirs``, read as the stream opens."""
        if caller.is_root or not caller.constraints:
            return then
        constraints = tuple(sorted((k, tuple(v)) for k, v in caller.constraints.items()))
        return cls(
            constraints,
            then,
            agents if redacts_managed_agents(caller) else None,
            is_runner(caller),
            caller.sub if caller.role == "orchestrator" else None,
            tuple(sorted(base_dirs.items())),
            hosts if "cwd" in caller.constraints else None,
        )

    def admits(self, event: StreamEvent) -> bool:
        # A pair event is judged by ``pairs.PairEvents`` (chained as ``then``), as the pair
        # routes judge reading it: acting for a party, not covering one.
        if event.event != "pair":
            resources = self._resources(event)
            if any(r is _NOTHING for r in resources):
                return False
            if not all(covers(self._caller, r) for r in resources):
                return False
        return self.then is None or self.then.admits(event)

    def redact(self, event: StreamEvent) -> StreamEvent:
        """``relay.events.RedactingGuard``: an ``orchestrator`` event's card as
        ``cards_read_by_caller`` serves it to this caller: its ``managedAgents`` keeps the
        agents the caller reaches where memory holds them stored (one memory does not hold
        is left out, as a route leaves out one not stored). Any other event, and every
        event for a caller whose cards are whole, as it is. ``then``, if it redacts too,
        redacts first."""
        if self._then_redact is not None:
            event = self._then_redact.redact(event)
        if event.event != "orchestrator" or not self._redacts:
            return event
        data = event.data if isinstance(event.data, dict) else {}
        card = data.get("orchestrator")
        if not isinstance(card, dict):
            return event
        shown = keeping_managed(card, self._shows_managed)
        return event if shown is card else replace(event, data={**data, "orchestrator": shown})

    def _shows_managed(self, agent_id: str) -> bool:
        facts = self._facts(agent_id)
        place = None if facts is None else facts.placement
        return shows_managed_agent(self._caller, agent_id, place)

    def admits_presence(self, kind: str, key: str) -> bool:
        """Presence (``relay.events.PresenceGuard``), judged as the ``agent`` and
        ``orchestrator`` events it stands for; an agent memory does not hold is withheld."""
        if kind == "orchestrator":
            return self._stored_host(key) is not _NOTHING
        resource = self._acted_for(key)
        return resource is not _NOTHING and covers(self._caller, resource)

    def _owner(self, agent_id: str | None) -> tuple[bool, str | None]:
        """``(known, orchestrator)`` of an agent, from memory, for a caller limited by
        orchestrator; known when not asked for."""
        if not self._by_orchestrator or agent_id is None:
            return True, None
        facts = self._facts(agent_id)
        return (False, None) if facts is None else (True, facts.orchestrator_id)

    def _facts(self, agent_id: str) -> AgentFacts | None:
        return None if self.agents is None else self.agents.known([agent_id])[0].get(agent_id)

    def _acted_for(self, agent_id: str) -> Resource:
        """An agent, as ``acts_for`` judges it for this caller: by its id, the orchestrator
        it is stored under and, for a caller limited by path, its stored working directory
        (``within_place``: one that recorded none, only by its own token or its host's). An
        agent memory does not hold is withheld from either caller."""
        if not (self._by_orchestrator or self._by_path):
            return Resource(agent_id=agent_id)
        facts = self._facts(agent_id)
        if facts is None or not within_place(self._caller, agent_id, facts.placement):
            return _NOTHING
        return Resource(agent_id=agent_id, orchestrator_id=facts.orchestrator_id)

    def _resources(self, event: StreamEvent) -> list[Resource]:
        """What the event carries, as its resource's reads judge it; an event of these
        kinds without its record is withheld (a resource nothing can cover)."""
        data = event.data if isinstance(event.data, dict) else {}
        if event.event == "activity":
            return [self._activity(data)]
        item = data.get(event.event)
        if event.event == "config-changed" and data.get("namespace") == SPAWN_POLICIES_NAMESPACE:
            # A policy's change, as its route reads it: by its name (a caller limited by
            # path reads a policy by its cwd, which the event does not carry: withheld).
            key = data.get("key")
            if self._by_path or not isinstance(key, str):
                return [_NOTHING]
            return [Resource(policy_name=key)]
        if event.event == "automation" and isinstance(spawn := data.get("spawn"), dict):
            return [self._spawn(spawn)]
        if event.event not in _GUARDED_EVENTS:
            if event.agent_id is None:
                return []
            return [self._acted_for(event.agent_id)]
        if not isinstance(item, dict):
            return [_NOTHING]
        text = {k: v for k, v in item.items() if isinstance(v, str)}
        if event.event == "agent":
            return [self._card(text, item.get("meta"))]
        if event.event == "orchestrator":
            return [self._host(text.get("id"), text.get("baseDir"))]
        if event.event == "command":
            return [self._command(text, item.get("params"))]
        if event.event == "lease":
            return self._lease(text, data.get("workspace"))
        return self._workspace(text)

    def _spawn(self, spawn: dict[str, object]) -> Resource:
        """A spawning automation's dispatch, as its routes judge reading it (the spawn it
        makes: host, policy, cwd). A caller limited by path, where the action names no cwd
        (its policy's, which the event does not carry), is withheld it."""
        text = {k: v for k, v in spawn.items() if isinstance(v, str)}
        cwd = text.get("cwd")
        if self._by_path and cwd is None:
            return _NOTHING
        return Resource(
            orchestrator_id=text.get("orchestratorId"),
            policy_name=text.get("policyName"),
            cwd=cwd,
        )

    def _host(self, orchestrator_id: str | None, base_dir: str | None) -> Resource:
        """An orchestrator's card, as ``GET /api/orchestrators/:id`` judges reading it
        (``reaches_host``): for a caller limited by path, by the ``baseDir`` the card
        records (presence: the one memory holds)."""
        if orchestrator_id is None or not reaches_host(self._caller, orchestrator_id, base_dir):
            return _NOTHING
        return Resource(orchestrator_id=orchestrator_id)

    def _stored_host(self, orchestrator_id: str) -> Resource:
        """``_host`` on the ``baseDir`` memory holds (``Routing``, for a caller limited by
        path), where the event carries none."""
        base_dir = None if self.hosts is None else self.hosts.base_dir(orchestrator_id)
        return self._host(orchestrator_id, base_dir)

    def _card(self, text: dict[str, str], meta: object) -> Resource:
        """An agent's card, as ``allow_agent`` judges reading it: for a caller limited by
        orchestrator or path, by where the card itself places it (``within_place``)."""
        agent_id = text.get("id")
        orchestrator_id = text.get("orchestratorId")
        if (self._by_path or self._by_orchestrator) and agent_id is not None:
            place = placement_of(orchestrator_id, meta if isinstance(meta, dict) else {})
            if not within_place(self._caller, agent_id, place):
                return _NOTHING
        return Resource(agent_id=agent_id, orchestrator_id=orchestrator_id)

    def _command(self, text: dict[str, str], params: object) -> Resource:
        """A command event: its target, if the caller may read the command at all
        (``may_read_command``, with the places memory holds; a miss among the agents the
        params name is judged by the constraints alone, as a new agent is, but for a
        caller limited by orchestrator, which covers none (``_UNKNOWN``); a target memory
        does not hold is withheld)."""
        target = text.get("target")
        if target is None or not isinstance(params, dict):
            return _NOTHING
        kind: TargetKind = "agent" if text.get("targetKind") == "agent" else "orchestrator"
        places: dict[str, Placement] = {}
        if kind == "agent":
            # Where the agent is stored, as the routes judge it (``reaches``).
            if self._acted_for(target) is _NOTHING:
                return _NOTHING
            if (facts := self._limited_facts(target)) is not None:
                places[target] = facts.placement
        for agent_id in named_agents(params):
            facts = self._limited_facts(agent_id)
            if facts is not None:
                places.setdefault(agent_id, facts.placement)
            elif self._by_orchestrator:
                places.setdefault(agent_id, Placement(_UNKNOWN, None))
        if not may_read_command(self._caller, kind, target, params, places, self._base_dirs):
            return _NOTHING
        if kind == "agent":
            owner = places[target].orchestrator_id if target in places else None
            return Resource(agent_id=target, orchestrator_id=owner)
        # As the host's card (``_host``): a caller limited by path reads no command to a
        # host whose ``baseDir`` its paths miss.
        return self._stored_host(target)

    def _limited_facts(self, agent_id: str) -> AgentFacts | None:
        """The agent's facts from memory, for a caller limited by orchestrator or path (for
        no other caller are they read)."""
        return self._facts(agent_id) if self._by_orchestrator or self._by_path else None

    def _lease(self, lease: dict[str, str], workspace: object) -> list[Resource]:
        """A lease event, as ``lease_auth.visible_leases`` judges the lease: its repository,
        and the workspace it is held for (which the repo actor puts in the event). One
        without it (written before it was, on replay) names nothing that says whose merge
        it is: withheld from a caller limited by orchestrator or agent."""
        repo = Resource(cwd=lease.get("repoRoot"))
        if not isinstance(workspace, dict):
            by_owner = any(kind in ("orchestrators", "agents") for kind, _ in self.constraints)
            return [_NOTHING if by_owner else repo]
        return [repo, *self._workspace({k: v for k, v in workspace.items() if isinstance(v, str)})]

    def _workspace(self, text: dict[str, str]) -> list[Resource]:
        """A workspace, as ``may_touch_workspace`` judges it: its agent where memory holds
        it (``within_place`` for a caller limited by orchestrator or path); one memory does
        not hold, by the workspace's own fields."""
        agent_id = text.get("agentId")
        facts = self._limited_facts(agent_id) if agent_id is not None else None
        if (
            agent_id is not None
            and facts is not None
            and not within_place(self._caller, agent_id, facts.placement)
        ):
            return [_NOTHING]
        paths = [text.get(k) for k in ("worktreePath", "repoRoot", "sourceCwd")]
        _, owner = self._owner(agent_id)
        return workspace_resources(agent_id, text.get("orchestratorId"), paths, owner)

    def _activity(self, row: dict[str, object]) -> Resource:
        """An activity row, as ``activity.page`` reads it for this caller: by the agent and
        the orchestrator stored on it; a caller limited by orchestrator reads no row that
        names none but an agent (one deleted before the row was written) or is of a host's
        view (``HOST_VIEWS``); a caller limited by path reads no row naming an agent outside
        its paths (``within_place``, from memory: one it does not hold is withheld), nor
        one naming no agent but a host whose ``baseDir`` is outside them (or unknown); no
        constrained caller reads a security audit that names neither
        (``unattributed_hidden_views``)."""
        agent = row.get("agentId")
        orchestrator = row.get("orchestratorId")
        agent_id = agent if isinstance(agent, str) else None
        orchestrator_id = orchestrator if isinstance(orchestrator, str) else None
        named = agent_id is not None or orchestrator_id is not None
        if not named and row.get("view") in unattributed_hidden_views(self._caller):
            return _NOTHING
        unattributed = orchestrator_id is None and (
            agent_id is not None or row.get("view") in HOST_VIEWS
        )
        if self._by_orchestrator and unattributed:
            return _NOTHING
        if self._by_path:
            # As the feed judges it: the agent where it is stored (``reached``), else the
            # host by its baseDir (``reached_hosts``).
            path = row.get("path")
            if isinstance(path, str) and not within_cwd(self._caller, path):
                return _NOTHING  # a place the relay wrote outside its paths, whoever it names
            if agent_id is not None:
                if self._acted_for(agent_id) is _NOTHING:
                    return _NOTHING
            elif isinstance(path, str):  # a place the relay wrote: judged by it, not its host
                if not within_cwd(self._caller, path):
                    return _NOTHING
            elif orchestrator_id is not None:
                base_dir = None if self.hosts is None else self.hosts.base_dir(orchestrator_id)
                if base_dir is None or not within_cwd(self._caller, base_dir):
                    return _NOTHING
            elif row.get("view") in HOST_VIEWS:
                return _NOTHING  # a host's row naming neither: no path to judge it by
        return Resource(agent_id=agent_id, orchestrator_id=orchestrator_id)


_GUARDED_EVENTS = frozenset({"agent", "orchestrator", "command", "workspace", "lease"})
# What a withheld event stands for: ``admits`` refuses it by identity. Its empty ids cover
# nothing, but ``covers`` alone would let it reach a caller limited only by policyNames or
# spawnRequestIds (which a resource without those names passes) or by the path "/".
_NOTHING = Resource(agent_id="", orchestrator_id="", cwd="")
# The orchestrator of an agent memory does not hold: an id no constraint names, so a caller
# limited by orchestrator (the only one whose guard consults memory) covers no such agent.
_UNKNOWN = ""
