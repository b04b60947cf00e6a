"""schemathesis over ``/openapi.json``, against a real relay: the running API keeps its contract.

A ``relay serve`` child process (hypercorn, 127.0.0.1, an ephemeral port, a temporary data
dir; PostgreSQL when RELAY_TEST_DATABASE_URL is set) is fuzzed operation by operation, with
the root token and with a constrained token (``agents:[agent-one]``,
``orchestrators:[orch-one]``, ``cwd:[/srv/orch-one]``). A run fails on:

- any 5xx;
- a status the operation does not document, a body that does not match its documented
  schema, a wrong content type;
- for the constrained token: any 2xx on a request that names another owner's resource
  (agent-two, orch-two, ws-two, their command, paths under /srv/orch-two) in its path or
  body, and any 2xx response that shows one of them.

Bounded and repeatable: ``MAX_EXAMPLES`` per operation and token, hypothesis derandomized
(its seed is fixed by the test), no shrinking, no example database. Every failure is
collected (one per operation and run) and reported together.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from bench.common import Server, relay_server
from relay.domain.tokens import SCOPES
from tests.conftest import PG_ENV, _pg, run_asyncio

MAX_EXAMPLES = int(os.environ.get("RELAY_FUZZ_EXAMPLES", "25"))
TIMEOUT_S = 30

# Ours and theirs: the constrained token may touch the first, never the second.
OWN = {"agent": "agent-one", "orchestrator": "orch-one", "workspace": "ws-one"}
FOREIGN = {"agent": "agent-two", "orchestrator": "orch-two", "workspace": "ws-two"}
FOREIGN_MARKERS = ("agent-two", "orch-two", "ws-two")
FOREIGN_DIR = "/srv/orch-two"
LIMITED_CONSTRAINTS = {
    "agents": [OWN["agent"]],
    "orchestrators": [OWN["orchestrator"]],
    "cwd": ["/srv/orch-one"],
}
# Which of another owner's resources each constrained token must not touch: a constraint
# limits only its own kind (a token limited by agents alone may touch any orchestrator).
OFF_LIMITS = {
    "limited": {"agent", "orchestrator", "workspace", "command", "path"},
    "agent": {"agent", "workspace"},  # a workspace belongs to its agent
    "runtime": {"agent", "orchestrator", "workspace", "command", "path"},  # agent-two is o2's
}
LIMITED_SCOPES = [scope for scope in SCOPES if scope != "token:admin"]

# Operations not fuzzed here, each with the test that covers it instead.
SKIPPED = {
    ("GET", "/api/events"): "an endless event stream (tests/http/test_events.py)",
}
# A long poll waits up to 60 s when nothing is queued: the fuzz asks for no wait.
NO_WAIT = {
    "/api/orchestrators/{orchestrator_id}/commands",
    "/api/agents/{agent_id}/commands",
    "/api/agents/{agent_id}/inbox",
}

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
]


@dataclass(frozen=True)
class Relay:
    server: Server
    limited_token: str
    agent_token: str  # limited by agents only
    runtime_token: str  # orch-one's own, as its registration returned it
    own_command: str
    foreign_command: str

    @property
    def base(self) -> str:
        return self.server.base

    def headers(self, who: str) -> dict[str, str]:
        tokens = {
            "root": self.server.token,
            "limited": self.limited_token,
            "agent": self.agent_token,
            "runtime": self.runtime_token,
        }
        return {"Authorization": f"Bearer {tokens[who]}"}


@pytest.fixture(scope="module")
def database_env() -> Iterator[dict[str, str]]:
    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        yield {}
        return
    name = f"relay_fuzz_{uuid.uuid4().hex[:12]}"
    run_asyncio(_pg(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield {"RELAY_DATABASE_URL": f"{admin_url.rsplit('/', 1)[0]}/{name}"}
    finally:
        run_asyncio(_pg(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def relay(database_env: dict[str, str]) -> Iterator[Relay]:
    with relay_server(database_env, log_level="warning") as server:
        yield Relay(server, *_seed(server))


def _seed(server: Server) -> tuple[str, str, str, str, str]:
    """Two owners' resources; returns the constrained token, a token limited by agents only,
    orch-one's runtime token, and the own and foreign commands' ids."""

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(
            server.base + path, json=body, headers=server.auth, timeout=TIMEOUT_S
        )
        assert response.status_code in (200, 201), (path, response.text)
        reply: dict[str, Any] = response.json()
        return reply

    commands, runtime_tokens = {}, {}
    for owner in (OWN, FOREIGN):
        orch, agent, base = owner["orchestrator"], owner["agent"], f"/srv/{owner['orchestrator']}"
        runtime_tokens[orch] = post("/api/orchestrators", {"id": orch, "baseDir": base})["token"]
        post("/api/agents", {"id": agent, "orchestratorId": orch, "name": agent})
        post(f"/api/agents/{agent}/timeline", {"title": f"{agent} started"})
        post("/api/activity", {"title": f"{agent} note", "agentId": agent})
        post(
            "/api/workspaces",
            {
                "id": owner["workspace"],
                "agentId": agent,
                "orchestratorId": orch,
                "repoRoot": f"{base}/repo",
                "worktreePath": f"{base}/wt",
            },
        )
        command = post("/api/commands", {"type": "test.noop", "target": orch})["command"]
        commands[orch] = command["id"]
    limited, agent_only = (
        post(
            "/api/tokens",
            {"sub": sub, "role": "provider", "scope": LIMITED_SCOPES, "constraints": constraints},
        )["token"]
        for sub, constraints in (
            ("fuzz-limited", LIMITED_CONSTRAINTS),
            ("fuzz-agent", {"agents": [OWN["agent"]]}),
        )
    )
    return (
        limited,
        agent_only,
        runtime_tokens[OWN["orchestrator"]],
        commands[OWN["orchestrator"]],
        commands[FOREIGN["orchestrator"]],
    )


@pytest.fixture(scope="module")
def spec(relay: Relay) -> dict[str, Any]:
    document: dict[str, Any] = requests.get(relay.base + "/openapi.json", timeout=TIMEOUT_S).json()
    return document


@pytest.fixture(scope="module")
def api(relay: Relay) -> Any:
    schema = schemathesis.openapi.from_url(relay.base + "/openapi.json")
    schema.config.update(base_url=relay.base)
    return schema


def _operations(api: Any) -> list[Any]:
    found = []
    for result in api.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) not in SKIPPED:
            found.append(operation)
    assert len(found) >= 50
    return found


# -- the constrained token never reaches past its constraints --------------------------------


def _leak(text: str) -> str | None:
    return next((marker for marker in FOREIGN_MARKERS if marker in text), None)


def _body_properties(spec: dict[str, Any], method: str, path: str) -> set[str]:
    body = spec["paths"][path][method.lower()].get("requestBody")
    if body is None:
        return set()
    schema = body["content"]["application/json"]["schema"]
    return set(schema.get("properties", {}))


def _reference_fields(
    spec: dict[str, Any], method: str, path: str, owner: dict[str, str], kinds: set[str]
) -> dict[str, Any]:
    """The body fields of this operation that name a resource of one of ``kinds``, pointed
    at ``owner``'s."""
    base = f"/srv/{owner['orchestrator']}"
    named = {
        "agentId": ("agent", owner["agent"]),
        "orchestratorId": ("orchestrator", owner["orchestrator"]),
        "target": ("agent", owner["agent"]),  # an agent's commands go through its orchestrator
        "repoRoot": ("path", f"{base}/repo"),
        "worktreePath": ("path", f"{base}/wt"),
        "sourceCwd": ("path", f"{base}/src"),
        "cwd": ("path", f"{base}/wt"),
        "baseDir": ("path", base),
    }
    ids = {
        "/api/agents": ("agent", owner["agent"]),
        "/api/orchestrators": ("orchestrator", owner["orchestrator"]),
        "/api/workspaces": ("workspace", owner["workspace"]),
    }
    properties = _body_properties(spec, method, path)
    fields = {
        name: value for name, (kind, value) in named.items() if name in properties and kind in kinds
    }
    if "id" in properties and path in ids and ids[path][0] in kinds:
        fields["id"] = ids[path][1]
    if "target" in fields and "targetType" in properties:
        # A channel binding's target names an agent only with this type (else a tag, ...).
        fields["targetType"] = "agent"
    return fields


def _foreign_path(relay: Relay, path: str, kinds: set[str]) -> dict[str, str]:
    values = {
        "agent_id": ("agent", FOREIGN["agent"]),
        "orchestrator_id": ("orchestrator", FOREIGN["orchestrator"]),
        "workspace_id": ("workspace", FOREIGN["workspace"]),
        "command_id": ("command", relay.foreign_command),
    }
    return {
        name: value
        for name, (kind, value) in values.items()
        if "{" + name + "}" in path and kind in kinds
    }


def _describe(failure: BaseException) -> str:
    """The leaf failures' first lines (hypothesis wraps them: flaky, groups)."""
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        inner = getattr(exc, "exceptions", None)
        if inner:
            for each in inner:
                walk(each)
        elif exc.__cause__ is not None and "unreliable" in str(exc):
            walk(exc.__cause__)
        else:
            leaves.append(exc)

    walk(failure)
    reproduce = [line.strip() for line in str(failure).splitlines() if "curl " in line]
    texts = []
    for leaf in leaves or [failure]:
        lines = [line.strip() for line in str(leaf).splitlines() if line.strip()]
        texts.append(" | ".join(lines[:10]))
    described = " || ".join(dict.fromkeys(texts))
    return described + (f" || {reproduce[0][:400]}" if reproduce else "")


def _run(
    operation: Any,
    strategy: Any,
    call: Callable[[Any], None],
    *,
    mode: GenerationMode = GenerationMode.POSITIVE,
) -> str | None:
    """Fuzz one operation; the first failure's summary, or None.

    In negative mode an operation with nothing to get wrong (no parameters, no body) has no
    cases at all: hypothesis says Unsatisfiable, which is not a failure of the API.
    """

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    def fuzz(case: Any) -> None:
        if operation.path in NO_WAIT:
            case.query = {**(case.query or {}), "wait": 0}
        call(case)

    try:
        fuzz()
    except Unsatisfiable:
        if mode is GenerationMode.NEGATIVE:
            return None
        raise
    except (Exception, BaseExceptionGroup) as failure:  # schemathesis FailureGroup, asserts
        return f"{operation.method.upper()} {operation.path}: {_describe(failure)}"
    return None


def _report(failures: list[str]) -> str:
    return f"{len(failures)} operation(s) broke their contract:\n" + "\n\n".join(failures)


@pytest.mark.parametrize("who", ["root", "limited"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_keeps_its_contract(
    relay: Relay, api: Any, who: str, mode: GenerationMode
) -> None:
    headers = relay.headers(who)

    def call(case: Any) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS, timeout=TIMEOUT_S)
        if who == "limited" and 200 <= response.status_code < 300:
            leaked = _leak(response.text)
            assert leaked is None, f"constrained token saw {leaked}: {response.text[:300]}"

    failures = [
        failure
        for operation in _operations(api)
        if (
            failure := _run(operation, operation.as_strategy(generation_mode=mode), call, mode=mode)
        )
    ]
    assert failures == [], _report(failures)


@pytest.mark.parametrize("who", ["limited", "agent", "runtime"])
@pytest.mark.parametrize("aim", ["path", "body"])
def test_constrained_token_never_touches_another_owners_resources(
    relay: Relay, api: Any, spec: dict[str, Any], who: str, aim: str
) -> None:
    """``aim="path"``: the path names another owner's resource while the body names the
    caller's own (ownership comes from stored state, never from the body);
    ``aim="body"``: the body names another owner's resources."""
    headers = relay.headers(who)
    kinds = OFF_LIMITS[who]
    everything = {"agent", "orchestrator", "workspace", "command", "path"}
    failures = []
    for operation in _operations(api):
        method, path = operation.method.upper(), operation.path
        if aim == "path":
            path_values = _foreign_path(relay, path, kinds)
            body_values = _reference_fields(spec, method, path, OWN, everything)
            if not path_values:
                continue
        else:
            path_values = {}
            body_values = _reference_fields(spec, method, path, FOREIGN, kinds)
            if not body_values:
                continue

        def call(case: Any, body_values: dict[str, Any] = body_values) -> None:
            if aim == "body" and not isinstance(case.body, dict):
                return  # an optional body left out names nobody's resource: nothing to aim
            if body_values and isinstance(case.body, dict):
                case.body = {**case.body, **body_values}
            response = case.call(headers=headers, timeout=TIMEOUT_S)
            assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
            assert not 200 <= response.status_code < 300, (
                f"{who} token got {response.status_code} on another owner's resource: "
                f"{case.path_parameters} {case.body!r:.300} -> {response.text[:300]}"
            )

        strategy = operation.as_strategy(path_parameters=path_values or None)
        if failure := _run(operation, strategy, call):
            failures.append(failure)
    assert failures == [], _report(failures)


def test_operations_on_existing_resources_keep_their_contract(relay: Relay, api: Any) -> None:
    """Generated ids rarely name anything: here the path names the seeded resources, so the
    success shapes are checked too (runs last: it may delete them)."""
    headers = relay.headers("root")
    own = {
        "agent_id": OWN["agent"],
        "orchestrator_id": OWN["orchestrator"],
        "workspace_id": OWN["workspace"],
        "command_id": relay.own_command,
    }

    def call(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS, timeout=TIMEOUT_S)

    failures = []
    # Deletions last, so every other operation finds the resources there.
    for operation in sorted(_operations(api), key=lambda op: op.method.upper() == "DELETE"):
        values = {name: v for name, v in own.items() if "{" + name + "}" in operation.path}
        if not values:
            continue
        if failure := _run(operation, operation.as_strategy(path_parameters=values), call):
            failures.append(failure)
    assert failures == [], _report(failures)


# -- methods and docs over real HTTP ---------------------------------------------------------


def test_unsupported_method_is_405_with_the_documented_methods(
    relay: Relay, spec: dict[str, Any]
) -> None:
    wrong = []
    for path, item in spec["paths"].items():
        documented = {method.upper() for method in item}
        concrete = path.replace("{", "").replace("}", "")
        for method in ({"GET", "POST", "PUT", "PATCH", "DELETE"} - documented) - {"HEAD"}:
            response = requests.request(
                method, relay.base + concrete, headers=relay.headers("root"), timeout=TIMEOUT_S
            )
            allowed = {m.strip() for m in response.headers.get("Allow", "").split(",")} - {""}
            if (
                response.status_code != 405
                or response.json() != {"error": "method not allowed"}
                or not documented <= allowed
            ):
                wrong.append(f"{method} {path}: {response.status_code} Allow={sorted(allowed)}")
    assert wrong == []


def test_docs_load_their_assets_from_this_relay(relay: Relay) -> None:
    page = requests.get(relay.base + "/docs", timeout=TIMEOUT_S)
    assert page.status_code == 200
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "init.js"):
        assert f'"/docs/assets/{asset}"' in page.text
        response = requests.get(f"{relay.base}/docs/assets/{asset}", timeout=TIMEOUT_S)
        assert response.status_code == 200, asset
    bundle = requests.get(relay.base + "/docs/assets/swagger-ui-bundle.js", timeout=TIMEOUT_S)
    assert "SwaggerUIBundle" in bundle.text
