"""The actors run without a web framework: a runtime opens and closes in a fresh
interpreter that never imports Quart, Hypercorn or ``relay.http``.

import-linter's ``no-web-below-http`` contract checks the static imports; this checks
what actually gets loaded, including imports made at run time (inside a function, by a
plugin, by a library the actors use). A subprocess, because this test session has long
imported Quart through tests/conftest.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = "no-web-below-http"
SUBPROCESS_TIMEOUT_S = 120

# Opens a runtime on a fresh SQLite file, has an actor write through the store, closes
# the runtime, then prints the modules it loaded whose top-level name is forbidden.
SCRIPT = """
import json, sys
from pathlib import Path

import trio

from relay.actors import agent, open_runtime
from relay.clock import ManualClock
from relay.domain.agents import AgentRegistration
from relay.settings import Settings

data, forbidden = Path(sys.argv[1]), json.loads(sys.argv[2])
settings = Settings(
    data_dir=data,
    database_url=f"sqlite://{data / 'relay.sqlite3'}",
    root_token="root",
    secret="s" * 40,
)


async def main() -> None:
    async with open_runtime(settings, ManualClock()) as runtime:
        registration = agent.Register(AgentRegistration(id="a1"))
        _card, created = await runtime.registry.ask(agent.KIND, "a1", registration)
        assert created
        assert runtime.store.started
    assert runtime.store.closing  # closed on the way out


trio.run(main)
print(json.dumps(sorted(
    name for name in sys.modules
    if any(name == f or name.startswith(f + ".") for f in forbidden)
)))
"""


def forbidden_modules() -> list[str]:
    """The web modules the import contract forbids below HTTP, and ``relay.http`` itself."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        contracts = tomllib.load(file)["tool"]["importlinter"]["contracts"]
    contract = next(c for c in contracts if c["id"] == CONTRACT)
    return [*contract["forbidden_modules"], "relay.http"]


def test_the_forbidden_list_names_quart() -> None:
    # A guard on the guard: an emptied contract would make the test below pass vacuously.
    assert {"quart", "quart_trio", "hypercorn", "relay.http"} <= set(forbidden_modules())


def test_a_runtime_opens_and_closes_without_a_web_framework(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    done = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", SCRIPT, str(tmp_path), json.dumps(forbidden_modules())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    packages = sorted({name.split(".")[0] for name in loaded})
    assert loaded == [], f"opening a runtime imported {len(loaded)} modules of {packages}"
