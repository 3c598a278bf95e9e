"""The breaker per host: opened by failures in a row, closed to fetches for a cool-down, then decided by one probe; the
fetcher that asks it first."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from snapmode.pipeline.breaker import BreakerFetcher, HostBreakers, HostState, host_of
from snapmode.pipeline.errors import ImageRejected
from snapmode.pipeline.fetch import FetchOptions
from tests.conftest import jpeg_bytes
from tests.loopback import LoopbackServer, Response, route_handler


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_the_threshold_of_failures_in_a_row_opens_the_breaker(clock: Clock) -> None:
    changes: list[tuple[str, HostState]] = []
    breakers = HostBreakers(3, 60.0, clock=clock, on_change=lambda host, state: changes.append((host, state)))
    breakers.failed("a", "unreachable", "refused")
    breakers.failed("a", "unreachable", "refused")
    breakers.succeeded("a")  # not in a row
    breakers.failed("a", "unreachable", "refused")
    breakers.failed("a", "unreachable", "refused")
    assert breakers.admit("a") is None and changes == []
    breakers.failed("a", "http_error", "HTTP 503")
    refused = breakers.admit("a")
    assert refused is not None and (refused.failures, refused.last_reason) == (3, "http_error")
    assert breakers.open_until("a") == 1_060.0 and breakers.open_hosts() == {"a": 1_060.0}
    assert breakers.admit("b") is None and breakers.open_until("b") is None  # one host's breaker only
    assert [(host, state.open_until) for host, state in changes] == [("a", 1_060.0)]


def test_after_the_cool_down_one_probe_goes_and_decides(clock: Clock) -> None:
    breakers = HostBreakers(1, 60.0, clock=clock)
    breakers.failed("a", "unreachable", "refused")
    clock.now += 59
    assert breakers.admit("a") is not None
    clock.now += 1
    assert breakers.admit("a") is None  # the probe
    assert breakers.admit("a") is not None  # the others wait for its verdict
    breakers.failed("a", "unreachable", "refused again")
    assert breakers.open_until("a") == clock.now + 60  # open for another cool-down
    clock.now += 60
    assert breakers.admit("a") is None
    breakers.succeeded("a")
    assert breakers.admit("a") is None and breakers.admit("a") is None and breakers.open_hosts() == {}


def test_hosts_are_told_apart_by_port() -> None:
    assert host_of("http://127.0.0.1:8080/a.jpg") == "127.0.0.1:8080"
    assert host_of("https://Shop.Example/a.jpg") == "shop.example"
    assert host_of("http://user:pw@shop.example:81/a.jpg") == "shop.example:81"
    assert host_of("file:///tmp/a.jpg") == "" and host_of("/tmp/a.jpg") == ""


def test_the_fetcher_does_not_connect_to_an_open_host(clock: Clock) -> None:
    status = [503]
    asked: list[str] = []

    others_refused = threading.Event()  # the probe is answered once the rest of its burst has been refused

    def respond(path: str) -> Response:
        asked.append(path)
        if status[0] == 200 and len(asked) == 3:
            others_refused.wait(10)  # a second request let through while the probe is out would wait here too
        return (200, "image/jpeg", jpeg_bytes(), {}) if status[0] == 200 else (status[0], "text/plain", b"no", {})

    breakers = HostBreakers(2, 30.0, clock=clock)
    with LoopbackServer(route_handler(respond)) as shop, \
            BreakerFetcher(FetchOptions(allow_private=True), breakers) as fetcher:
        for n in range(2):
            with pytest.raises(ImageRejected) as failed:
                fetcher.fetch(f"{shop.base}/{n}.jpg")
            assert failed.value.retryable
        with pytest.raises(ImageRejected) as untried:
            fetcher.fetch(f"{shop.base}/2.jpg")
        assert asked == ["/0.jpg", "/1.jpg"]
        assert untried.value.retryable and untried.value.reason == "http_error"
        assert "not fetched" in untried.value.detail and "HTTP 503" in untried.value.detail

        status[0] = 200
        clock.now += 30
        refused: list[str] = []

        def attempt(n: int) -> str:
            outcome = _try(fetcher, f"{shop.base}/{n}.jpg")
            if outcome != "ok":
                refused.append(outcome)
                if len(refused) == 3:
                    others_refused.set()
            return outcome

        with ThreadPoolExecutor(4) as pool:  # a burst after the cool-down: only the probe reaches the host
            outcomes = list(pool.map(attempt, range(3, 7)))
        assert len(asked) == 3 and outcomes.count("ok") == 1
        assert all(fetcher.fetch(f"{shop.base}/{n}.jpg") for n in range(7, 9))  # closed again
        status[0] = 404
        with pytest.raises(ImageRejected):
            fetcher.fetch(f"{shop.base}/9.jpg")
        assert breakers.open_hosts() == {}  # a 404 is an answer: the host is up


def _try(fetcher: BreakerFetcher, url: str) -> str:
    try:
        fetcher.fetch(url)
    except ImageRejected as exc:
        return exc.reason
    return "ok"
