"""Which relay the daemon talks to: the URL-choice rules, then ``RelayClient`` applying them
against a fake network (an active, a standby that redirects to it, relays that are down)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from relay.daemon.client import RelayClient, RelayRejected, RelayUnavailable, retry_delay
from relay.daemon.relays import RelayUrls, relay_base, split_urls

A, B, C = "http://a:7420", "http://b:7420", "http://c:7420"

# -- the rules -----------------------------------------------------------------------------------


def test_split_urls_takes_commas_repeats_and_drops_duplicates() -> None:
    assert split_urls("http://a:7420/, http://b:7420") == [A, B]
    assert split_urls([A, f"{B},{C}", A]) == [A, B, C]


@pytest.mark.parametrize("value", ["", " , ", "ftp://a", "a:7420", "http://"])
def test_split_urls_refuses_what_is_no_relay_url(value: str) -> None:
    with pytest.raises(ValueError, match="relay URL"):
        split_urls(value)


@pytest.mark.parametrize(
    ("location", "target", "base"),
    [
        ("http://b:7420/api/x?wait=1", "/api/x?wait=1", B),
        ("https://relay.example/ha/api/x?wait=1", "/api/x?wait=1", "https://relay.example/ha"),
        ("http://b:7420/api/x", "/api/x?wait=1", B),  # the standby dropped the query
        ("ws://b:7420/api/o/channel", "/api/o/channel", B),
        ("/elsewhere/api/x", "/api/x", "http://a:7420/elsewhere"),  # relative to the request
        ("http://b:7420/other", "/api/x", B),  # not our path: the origin
    ],
)
def test_relay_base_is_the_location_without_the_request_target(
    location: str, target: str, base: str
) -> None:
    assert relay_base(location, A + target, target) == base


@pytest.mark.parametrize("location", ["", " ", "mailto:x@y", "ftp://b/api/x"])
def test_relay_base_of_a_location_naming_no_relay_is_none(location: str) -> None:
    assert relay_base(location, A + "/api/x", "/api/x") is None


def test_failures_go_round_the_configured_urls_in_order() -> None:
    urls = RelayUrls([A, B, C])
    assert urls.current == A
    assert [urls.fail("down"), urls.fail("down"), urls.fail("down")] == [B, C, A]


def test_a_redirect_outside_the_list_is_followed_and_a_failure_there_resumes_the_list() -> None:
    urls = RelayUrls([A, B, C])
    urls.fail("down")  # on B
    assert urls.follow("http://d:7420", "307") == "http://d:7420"
    assert urls.fail("down") == C  # the configured one after the last configured one used


def test_a_redirect_inside_the_list_moves_the_rotation_there() -> None:
    urls = RelayUrls([A, B, C])
    urls.follow(C, "307")
    assert urls.fail("down") == A


def test_one_log_line_per_switch_and_none_for_staying(caplog: pytest.LogCaptureFixture) -> None:
    urls = RelayUrls([A, B])
    with caplog.at_level(logging.WARNING, "relay.daemon.relays"):
        urls.fail("ConnectError")
        urls.follow(B, "307")  # already there
        urls.follow(A, "307 from a standby")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        f"relay_switch from={A} to={B} reason=ConnectError",
        f"relay_switch from={B} to={A} reason=307 from a standby",
    ]
    assert urls.switches == 2


def test_a_hint_only_shortens_the_backoff() -> None:
    assert retry_delay(8.0, RelayUnavailable("x", retry_after=1.0)) == 1.0
    assert retry_delay(0.5, RelayUnavailable("x", retry_after=1.0)) == 0.5
    assert retry_delay(8.0, RelayUnavailable("x")) == 8.0


# -- the client applying them ---------------------------------------------------------------------

Answer = Callable[[httpx.Request], httpx.Response]


def active(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"at": f"{request.url.scheme}://{request.url.netloc.decode()}"})


def down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def standby_of(active_url: str | None) -> Answer:
    def answer(request: httpx.Request) -> httpx.Response:
        if active_url is None:
            return httpx.Response(
                503, headers={"Retry-After": "1"}, json={"error": "no active relay"}
            )
        target = request.url.raw_path.decode()
        return httpx.Response(
            307,
            headers={"Location": active_url + target},
            json={"error": "this relay is a standby", "active": active_url},
        )

    return answer


class Network:
    """Routes each request by host to an answer; records what was asked where."""

    def __init__(self, hosts: dict[str, Answer]) -> None:
        self.hosts = hosts
        self.asked: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        origin = f"{request.url.scheme}://{request.url.netloc.decode()}"
        self.asked.append(origin)
        return self.hosts[origin](request)


def client(urls: list[str], network: Network) -> RelayClient:
    return RelayClient(urls, "t", transport=httpx.MockTransport(network))


async def test_a_standby_redirects_to_the_active_which_answers() -> None:
    network = Network({A: standby_of(B), B: active})
    relay = client([A], network)
    assert await relay.request("GET", "/api/x", params={"wait": 1}) == {"at": B}
    assert relay.url == B  # kept for the next calls
    assert await relay.request("GET", "/api/x") == {"at": B}
    assert network.asked == [A, B, B]


async def test_a_relay_that_is_down_is_skipped_within_the_call() -> None:
    network = Network({A: down, B: active})
    relay = client([A, B], network)
    assert await relay.request("POST", "/api/x", body={}) == {"at": B}
    assert network.asked == [A, B]


async def test_down_then_a_standby_then_the_active() -> None:
    network = Network({A: down, B: standby_of(C), C: active})
    relay = client([A, B], network)
    assert await relay.request("GET", "/api/x") == {"at": C}
    assert network.asked == [A, B, C]


async def test_a_full_round_without_an_answer_is_unavailable_without_a_hint() -> None:
    network = Network({A: down, B: down})
    relay = client([A, B], network)
    with pytest.raises(RelayUnavailable) as caught:
        await relay.request("GET", "/api/x")
    assert caught.value.retry_after is None  # nobody answered: the full backoff
    assert network.asked == [A, B]


async def test_a_standby_naming_an_active_that_is_down_gives_a_hint() -> None:
    """During the lease: the standby still names the killed active."""
    network = Network({A: down, B: standby_of(A)})
    relay = client([A, B], network)
    with pytest.raises(RelayUnavailable) as caught:
        await relay.request("GET", "/api/x")
    assert caught.value.retry_after == 1.0
    assert network.asked == [A, B]  # A is not asked twice in one round
    assert relay.url == A  # where the standby points


async def test_a_standby_without_an_active_passes_on_its_retry_after() -> None:
    network = Network({A: standby_of(None)})
    relay = client([A], network)
    with pytest.raises(RelayUnavailable) as caught:
        await relay.request("GET", "/api/x")
    assert caught.value.retry_after == 1.0


async def test_relays_that_redirect_to_each_other_end_the_call() -> None:
    network = Network({A: standby_of(B), B: standby_of(A)})
    relay = client([A, B], network)
    with pytest.raises(RelayUnavailable):
        await relay.request("GET", "/api/x")
    assert len(network.asked) <= 5


async def test_a_redirect_without_a_location_is_refused() -> None:
    network = Network({A: lambda request: httpx.Response(307, json={})})
    with pytest.raises(RelayRejected) as caught:
        await client([A], network).request("GET", "/api/x")
    assert caught.value.status == 307


async def test_a_client_error_is_not_a_reason_to_switch() -> None:
    network = Network({A: lambda request: httpx.Response(403, json={"error": "no"}), B: active})
    relay = client([A, B], network)
    with pytest.raises(RelayRejected):
        await relay.request("GET", "/api/x")
    assert relay.url == A
    assert network.asked == [A]


async def test_another_5xx_is_unavailable_without_switching() -> None:
    network = Network({A: lambda request: httpx.Response(500, json={"error": "x"}), B: active})
    relay = client([A, B], network)
    with pytest.raises(RelayUnavailable):
        await relay.request("GET", "/api/x")
    assert network.asked == [A]
