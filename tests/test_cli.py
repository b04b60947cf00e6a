"""``relay serve`` as an operator runs it: a start that fails says why in one line and exits 2,
one that works says where it listens (the real port); ``relay token`` finds the data dir."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from relay.cli import cli
from tests.conftest import PG_ENV

# A failing start must end within this; the hang it guards against lasted forever.
FAIL_WITHIN = 20
SERVE_WITHIN = 30


def relay_env(**extra: str) -> dict[str, str]:
    """The environment without any RELAY_* of the caller's, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("RELAY_")}
    env.update(extra)
    return env


def relay_serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI, arguments from the test
        [sys.executable, "-m", "relay", "serve", *args],
        capture_output=True,
        text=True,
        timeout=FAIL_WITHIN,
        env=env or relay_env(),
        check=False,
    )


def assert_refused(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Exit 2, exactly one line on stderr naming the problem, no traceback, nothing served."""
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("relay serve: ")
    assert "Traceback" not in result.stderr
    assert "listening on" not in result.stdout
    for needle in needles:
        assert needle in lines[0]


class Serving:
    """A ``relay serve`` subprocess, started and waited on until it says where it listens."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    def wait_listening(self) -> str:
        """The line saying where it listens (it must come, or the process must end)."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if "listening on" in line:
                return line.strip()
        self.process.wait(SERVE_WITHIN)
        assert self.process.stderr is not None
        raise AssertionError(f"exited {self.process.returncode}: {self.process.stderr.read()}")

    def stop(self) -> int:
        self.process.terminate()
        return self.process.wait(SERVE_WITHIN)


@contextmanager
def serving(*args: str, env: dict[str, str] | None = None) -> Iterator[Serving]:
    process = subprocess.Popen(  # noqa: S603 - our own CLI, arguments from the test
        [sys.executable, "-m", "relay", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or relay_env(),
    )
    try:
        yield Serving(process)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(SERVE_WITHIN)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def port_of(listening: str) -> int:
    return int(listening.rsplit(":", 1)[1])


# -- a start that fails ---------------------------------------------------------------------


def test_an_unsupported_database_scheme_is_one_line(tmp_path: Path) -> None:
    result = relay_serve("--data-dir", str(tmp_path), "--database-url", "mysql://u@h/db")
    assert_refused(result, "--database-url", "'mysql'")


def test_an_unknown_log_level_is_one_line(tmp_path: Path) -> None:
    result = relay_serve("--data-dir", str(tmp_path), "--log-level", "LOUD")
    assert_refused(result, "--log-level", "LOUD")


def test_a_data_dir_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "file"
    data_dir.write_text("")
    result = relay_serve("--data-dir", str(data_dir), "--port", "0")
    assert_refused(result, f"data dir {data_dir} is not a directory")


def test_a_data_dir_under_a_file_from_the_environment_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    data_dir = tmp_path / "file" / "data"
    result = relay_serve("--port", "0", env=relay_env(RELAY_DATA_DIR=str(data_dir)))
    assert_refused(result, f"data dir {data_dir}", "Not a directory")


@pytest.fixture
def unwritable_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory nothing can be created in, by this user (root too: sysfs refuses)."""
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        yield locked
        locked.chmod(0o700)
        return
    sysfs = Path("/sys")
    if not sysfs.is_dir():
        pytest.skip("running as root without /sys: no directory root cannot write")
    yield sysfs


def test_an_unwritable_data_dir_is_one_line(unwritable_dir: Path) -> None:
    data_dir = unwritable_dir / f"relay-{uuid.uuid4().hex[:8]}"
    result = relay_serve("--data-dir", str(data_dir), "--port", "0")
    assert_refused(result, f"data dir {data_dir}")
    assert not data_dir.exists()


def test_an_unwritable_data_dir_from_the_environment_is_one_line(unwritable_dir: Path) -> None:
    data_dir = unwritable_dir / f"relay-{uuid.uuid4().hex[:8]}"
    result = relay_serve("--port", "0", env=relay_env(RELAY_DATA_DIR=str(data_dir)))
    assert_refused(result, f"data dir {data_dir}")


def test_a_database_in_a_missing_directory_fails_at_once(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/missing/dir/x.db"
    started = time.monotonic()
    result = relay_serve("--data-dir", str(tmp_path / "data"), "--port", "0", "--database-url", url)
    assert_refused(result, f"cannot open the database {url}", "No such file or directory")
    assert time.monotonic() - started < FAIL_WITHIN


def test_a_database_that_cannot_be_opened_fails_at_once(tmp_path: Path) -> None:
    # The lock file beside it can be made, so this reaches the store's own connect, the one
    # that hung with tortoise's connection lock held.
    (tmp_path / "db").mkdir()
    url = f"sqlite://{tmp_path / 'db'}"
    result = relay_serve("--data-dir", str(tmp_path / "data"), "--port", "0", "--database-url", url)
    assert_refused(result, f"cannot open the database {url}", "unable to open database file")


def test_postgresql_refusing_connections_is_one_line(tmp_path: Path) -> None:
    url = "postgres://relay:secret@127.0.0.1:1/relay"
    result = relay_serve("--data-dir", str(tmp_path), "--port", "0", "--database-url", url)
    assert_refused(result, "cannot open the database postgres://***@127.0.0.1:1/relay")
    assert "secret" not in result.stderr


def pg_admin_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"needs PostgreSQL: set {PG_ENV} (e.g. postgres://postgres@127.0.0.1/test)")
    return url


def test_a_missing_postgresql_database_is_one_line(tmp_path: Path) -> None:
    admin_url = pg_admin_url()
    url = f"{admin_url.rsplit('/', 1)[0]}/relay_test_missing_{uuid.uuid4().hex[:8]}"
    result = relay_serve("--data-dir", str(tmp_path), "--port", "0", "--database-url", url)
    assert_refused(result, "cannot open the database", "does not exist")


def test_a_port_in_use_is_one_line_and_the_store_is_not_touched(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = relay_serve("--data-dir", str(tmp_path), "--port", str(port))
    assert_refused(result, f"cannot listen on 127.0.0.1:{port}", "in use")
    assert not (tmp_path / "relay.sqlite3").exists()
    assert not (tmp_path / "relay.sqlite3.lock").exists()


# -- a start that works, and a second relay on the same store ------------------------------


def test_port_0_prints_the_real_port_and_a_second_relay_on_the_store_is_refused(
    tmp_path: Path,
) -> None:
    data_dir = str(tmp_path / "data")
    with serving("--data-dir", data_dir, "--port", "0") as first:
        listening = first.wait_listening()
        port = port_of(listening)
        assert port != 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as reply:
            assert reply.status == 200

        second = relay_serve("--data-dir", data_dir, "--port", "0")
        assert_refused(second, "another relay is using this database", f"pid={first.process.pid}")

        assert first.process.poll() is None  # the first one serves on, untouched
        assert first.stop() == 0


def test_a_sigterm_as_soon_as_it_listens_stops_it_gracefully(tmp_path: Path) -> None:
    # The signals are caught from before start-up: a SIGTERM straight after "listening on"
    # once met the default handler and killed the relay (-15) before it drained.
    with serving("--data-dir", str(tmp_path), "--port", "0") as relay:
        relay.wait_listening()
        assert relay.stop() == 0


# -- relay token ---------------------------------------------------------------------------


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The admin calls ``relay token`` makes (the relay's replies are canned)."""
    made: list[dict[str, Any]] = []

    def call(url: str, token: str, method: str, path: str, body: Any = None) -> Any:
        made.append({"token": token, "method": method, "path": path, "body": body})
        if method == "DELETE":
            return {"ok": True, "jti": path.rsplit("/", 1)[1], "record": None}
        return {"token": "issued-token"}

    monkeypatch.setattr("relay.daemon.admin.call", call)
    return made


def test_token_create_reads_the_root_token_from_the_default_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, calls: list[dict[str, Any]]
) -> None:
    from relay.settings import default_data_dir

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("RELAY_DATA_DIR", raising=False)
    monkeypatch.delenv("RELAY_ROOT_TOKEN", raising=False)
    data_dir = default_data_dir()
    assert str(data_dir).startswith(str(tmp_path))
    data_dir.mkdir(parents=True)
    (data_dir / "root-token").write_text("rt_from_the_default_dir\n")

    result = CliRunner().invoke(cli, ["token", "create", "--sub", "ci", "--profile", "integration"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "issued-token"
    assert calls[0]["token"] == "rt_from_the_default_dir"


def test_revoking_an_unknown_jti_says_it_was_deny_listed_anyway(
    calls: list[dict[str, Any]],
) -> None:
    result = CliRunner().invoke(cli, ["token", "revoke", "nope", "--root-token", "rt_x"])
    assert result.exit_code == 0, result.output
    assert calls[0]["method"] == "DELETE"
    assert "nope is not a known token record; deny-listed it anyway" in result.stderr
