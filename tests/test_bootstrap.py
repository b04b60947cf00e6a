"""First start: the root token and the signing secret are generated once, kept 0600, reused."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from relay.bootstrap import ROOT_TOKEN_FILE, SECRET_FILE, ensure_credentials
from relay.settings import Settings


def settings_for(data_dir: Path, **explicit: str) -> Settings:
    # Init arguments win over any RELAY_* variable of the environment running the tests.
    fields: dict[str, str | None] = {"root_token": None, "secret": None, **explicit}
    return Settings(data_dir=data_dir, **fields)  # type: ignore[arg-type]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_start_generates_both_files_readable_by_the_owner_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    credentials = ensure_credentials(settings_for(data_dir))

    root_file, secret_file = data_dir / ROOT_TOKEN_FILE, data_dir / SECRET_FILE
    assert credentials.generated_root_token
    assert credentials.root_token_path == root_file
    assert root_file.read_text().strip() == credentials.root_token
    assert secret_file.read_text().strip() == credentials.secret
    assert mode(root_file) == 0o600
    assert mode(secret_file) == 0o600


def test_first_start_creates_the_data_dir_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "deep" / "data"
    ensure_credentials(settings_for(data_dir))
    assert mode(data_dir) & 0o077 == 0


def test_generated_credentials_are_strong_and_distinct(tmp_path: Path) -> None:
    first = ensure_credentials(settings_for(tmp_path / "one"))
    second = ensure_credentials(settings_for(tmp_path / "two"))
    assert len(first.root_token) >= 32
    assert len(first.secret) >= 32
    assert first.root_token != first.secret
    assert first.root_token != second.root_token
    assert first.secret != second.secret


def test_second_start_reuses_the_files(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = ensure_credentials(settings_for(data_dir))
    second = ensure_credentials(settings_for(data_dir))
    assert (second.root_token, second.secret) == (first.root_token, first.secret)
    assert not second.generated_root_token
    assert mode(data_dir / ROOT_TOKEN_FILE) == 0o600


def test_files_written_by_hand_are_used(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / ROOT_TOKEN_FILE).write_text("rt_handmade\n")
    (data_dir / SECRET_FILE).write_text("handmade-secret\n")
    credentials = ensure_credentials(settings_for(data_dir))
    assert (credentials.root_token, credentials.secret) == ("rt_handmade", "handmade-secret")
    assert not credentials.generated_root_token


def test_explicit_settings_win_over_the_files(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ensure_credentials(settings_for(data_dir))  # files now exist
    credentials = ensure_credentials(
        settings_for(data_dir, root_token="explicit-root", secret="explicit-secret")
    )
    assert (credentials.root_token, credentials.secret) == ("explicit-root", "explicit-secret")
    assert not credentials.generated_root_token


def test_explicit_settings_leave_no_files_behind(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ensure_credentials(settings_for(data_dir, root_token="explicit-root", secret="s" * 40))
    assert not (data_dir / ROOT_TOKEN_FILE).exists()
    assert not (data_dir / SECRET_FILE).exists()


def test_explicit_root_token_alone_still_generates_the_secret(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    credentials = ensure_credentials(settings_for(data_dir, root_token="explicit-root"))
    assert credentials.root_token == "explicit-root"
    assert (data_dir / SECRET_FILE).read_text().strip() == credentials.secret
    assert not (data_dir / ROOT_TOKEN_FILE).exists()


def test_environment_credentials_are_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAY_ROOT_TOKEN", "env-root")
    monkeypatch.setenv("RELAY_SECRET", "env-secret")
    credentials = ensure_credentials(Settings(data_dir=tmp_path / "data"))
    assert (credentials.root_token, credentials.secret) == ("env-root", "env-secret")


@pytest.mark.parametrize(
    ("variable", "field", "value", "expected"),
    [
        ("RELAY_MAX_BODY_BYTES", "max_body_bytes", "4096", 4096),
        ("RELAY_AGENT_STALE_SECONDS", "agent_stale_seconds", "12", 12),
        ("RELAY_AGENT_OFFLINE_SECONDS", "agent_offline_seconds", "90", 90),
        ("RELAY_HEARTBEAT_INTERVAL_SECONDS", "heartbeat_interval_seconds", "7", 7),
        ("RELAY_ACTOR_IDLE_SECONDS", "actor_idle_seconds", "5", 5),
    ],
)
def test_settings_read_relay_variables(
    monkeypatch: pytest.MonkeyPatch, variable: str, field: str, value: str, expected: object
) -> None:
    monkeypatch.setenv(variable, value)
    assert getattr(Settings(), field) == expected


def test_explicit_setting_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAY_MAX_BODY_BYTES", "4096")
    assert Settings(max_body_bytes=8192).max_body_bytes == 8192


@pytest.mark.parametrize(
    ("field", "default"),
    [
        ("max_body_bytes", 1024 * 1024),
        ("agent_stale_seconds", 30),
        ("agent_offline_seconds", 300),
        ("heartbeat_interval_seconds", 10),
    ],
)
def test_settings_defaults_match_the_spec(
    monkeypatch: pytest.MonkeyPatch, field: str, default: object
) -> None:
    monkeypatch.delenv(f"RELAY_{field.upper()}", raising=False)
    assert getattr(Settings(), field) == default
