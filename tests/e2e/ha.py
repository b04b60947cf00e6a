"""Several real ``relay serve`` processes on one PostgreSQL database (issue 22), for the
failover end-to-end test and ``bench/failover.py``.

``Cluster`` starts them (each advertising its own URL), tells which one is active (``/readyz``
200; a standby answers 503 ``standby``), kills, stops and restarts them. ``Client`` talks to
the cluster as any HA client should: a standby's 307 is followed, a connection error or a 503
moves on to the next relay; a request that got no answer is not acknowledged.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.processes import ROOT_TOKEN, RelayProcess, clean_env, free_port, wait_for


def lease_env(lease: float, renew: float, retry: float) -> dict[str, str]:
    return {
        "RELAY_LEADER_LEASE_SECONDS": str(lease),
        "RELAY_LEADER_RENEW_DEADLINE_SECONDS": str(renew),
        "RELAY_LEADER_RETRY_SECONDS": str(retry),
    }


# Every relay of a cluster signs and checks tokens with the same key.
CLUSTER_SECRET = "e2e-cluster-secret-0123456789abcdef0123456789"


class HaRelay(RelayProcess):
    """A relay that may start as a standby: started once ``/healthz`` answers."""

    def __init__(self, data_dir: Path, database_url: str, **env: str) -> None:
        port = free_port()
        super().__init__(
            data_dir,
            port=port,
            RELAY_DATABASE_URL=database_url,
            RELAY_ADVERTISE_URL=f"http://127.0.0.1:{port}",
            RELAY_SECRET=CLUSTER_SECRET,
            **env,
        )

    def launch(self) -> None:
        """Start the process without waiting (``start`` = ``launch`` + wait for /healthz)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        settings = {
            "RELAY_ROOT_TOKEN": ROOT_TOKEN,
            "RELAY_DATA_DIR": str(self.data_dir),
            "RELAY_HEARTBEAT_INTERVAL_SECONDS": "1",
            "RELAY_LOG_LEVEL": "INFO",
        }
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(  # our own CLI, fixed arguments
                [sys.executable, "-m", "relay", "serve", "--port", str(self.port)],
                env=clean_env(**{**settings, **self.env}),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def wait_started(self, timeout: float = 60) -> None:
        wait_for(self._ready, timeout=timeout, what=f"relay on port {self.port} to answer")

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"relay exited ({self.proc.returncode}):\n{self.log()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def readyz(self) -> tuple[int, dict[str, Any]]:
        """``/readyz``'s status and body; (0, {}) when the process does not answer."""
        if not self.alive:
            return 0, {}
        try:
            response = httpx.get(f"{self.url}/readyz", timeout=1)
        except httpx.HTTPError:
            return 0, {}
        try:
            body = response.json()
        except ValueError:
            body = {}
        return response.status_code, body if isinstance(body, dict) else {}

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def exit_status(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)


class Cluster:
    def __init__(self, root: Path, database_url: str, size: int, **env: str) -> None:
        self.relays = [
            HaRelay(root / f"relay-{index}", database_url, **env) for index in range(size)
        ]

    @property
    def urls(self) -> list[str]:
        return [relay.url for relay in self.relays]

    def start(self, timeout: float = 60) -> Cluster:
        for relay in self.relays:  # all at once: each one's start-up takes seconds
            relay.launch()
        for relay in self.relays:
            relay.wait_started(timeout)
        return self

    def active(self, timeout: float = 30) -> HaRelay:
        """The one relay whose ``/readyz`` is 200 (two at once fails the test)."""

        def one() -> HaRelay | None:
            ready = [relay for relay in self.relays if relay.readyz()[0] == 200]
            assert len(ready) <= 1, f"two active relays: {[r.url for r in ready]}"
            return ready[0] if ready else None

        return wait_for(one, timeout=timeout, what="an active relay")

    def standbys_ready(self) -> bool:
        """Every relay answers: one active, the others standbys that know it."""
        answers = [relay.readyz() for relay in self.relays]
        active = [body for status, body in answers if status == 200]
        standby = [body for status, body in answers if body.get("status") == "standby"]
        return len(active) == 1 and len(standby) == len(self.relays) - 1

    def restart_dead(self, timeout: float = 60) -> None:
        """A supervisor's job: start again (as standbys) the relays that exited."""
        dead = [relay for relay in self.relays if not relay.alive]
        for relay in dead:
            relay.launch()
        for relay in dead:
            relay.wait_started(timeout)

    def close(self) -> None:
        for relay in self.relays:
            if relay.alive:
                relay.signal(signal.SIGCONT)  # a stopped one must be able to exit
            relay.close()

    def logs(self) -> str:
        return "\n".join(f"--- {r.url}\n{r.log()[-4000:]}" for r in self.relays)


def has_leader_election(relay: HaRelay) -> bool:
    """Does this relay take part in an election (``/readyz`` names a role or a standby)?"""
    _, body = relay.readyz()
    return "role" in body or body.get("status") == "standby"


class Client:
    """An HTTP client of the whole cluster (307s followed, relays tried in turn).

    It follows a standby's redirect itself: an HTTP client that follows one to another
    origin drops the ``Authorization`` header (httpx, curl, browsers), so the active would
    answer 401.
    """

    def __init__(self, urls: list[str], timeout: float = 5) -> None:
        self.urls = urls
        self.current = 0
        self.http = httpx.Client(headers={"Authorization": f"Bearer {ROOT_TOKEN}"}, timeout=timeout)
        self.refused = 0  # answers that were no answer: 503s and connection errors
        self.redirected = 0

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        """The response of the first relay that answered, or None after one round."""
        for attempt in range(len(self.urls)):
            url = self.urls[(self.current + attempt) % len(self.urls)] + path
            try:
                response = self.http.request(method, url, **kwargs)
                for _ in range(3):
                    if response.status_code not in (307, 308):
                        break
                    self.redirected += 1
                    url = response.headers["location"]
                    response = self.http.request(method, url, **kwargs)
            except httpx.HTTPError:
                self.refused += 1
                continue
            if response.status_code in (503, 307, 308):
                self.refused += 1
                continue
            self.current = (self.current + attempt) % len(self.urls)
            return response
        return None

    def until(self, method: str, path: str, *, timeout: float, **kwargs: Any) -> httpx.Response:
        """Retry ``request`` until a relay answers (not 503), for at most ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.request(method, path, **kwargs)
            if response is not None:
                return response
            if time.monotonic() > deadline:
                raise AssertionError(f"no relay answered {method} {path} in {timeout} s")
            time.sleep(0.05)

    def close(self) -> None:
        self.http.close()


@contextmanager
def cluster(root: Path, database_url: str, size: int, **env: str) -> Iterator[Cluster]:
    relays = Cluster(root, database_url, size, **env)
    try:
        yield relays.start()
    finally:
        relays.close()
