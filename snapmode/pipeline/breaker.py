"""A circuit breaker per image host: a host failing again and again is left alone for a cool-down, then one probe
decides; and the fetcher that consults it before every fetch."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

from snapmode.pipeline.addresses import Resolver
from snapmode.pipeline.errors import ImageRejected
from snapmode.pipeline.fetch import DEFAULT_MAX_BYTES, Fetcher, FetchOptions

Transition = Callable[[str, "HostState"], None]  # (host, its state after the change)


@dataclass(slots=True)
class HostState:
    failures: int = 0  # in a row
    open_until: float = 0.0  # clock time; 0: never opened
    probing: bool = False  # the one fetch let through after the cool-down is in flight
    last_reason: str = "unreachable"
    last_detail: str = ""


def host_of(url: str) -> str:
    """What a breaker is keyed by: the URL's host with its port when it names one ("" for local files)."""
    parsed = urlparse(url)
    return parsed.netloc.lower().rpartition("@")[2] if parsed.scheme in ("http", "https") else ""


class HostBreakers:
    """After `threshold` failures in a row, a host is open: `admit` refuses it until `cooldown_s` passed; then it lets
    exactly one fetch through (half-open), whose success closes the breaker and whose failure opens it again.
    Thread-safe; `on_change` hears every opening and closing."""

    def __init__(self, threshold: int, cooldown_s: float, *, clock: Callable[[], float] = time.time,
                 on_change: Transition = lambda host, state: None) -> None:
        self.threshold, self.cooldown_s, self.clock, self.on_change = threshold, cooldown_s, clock, on_change
        self._hosts: dict[str, HostState] = {}
        self._lock = threading.Lock()

    def admit(self, host: str) -> HostState | None:
        """None when `host` may be fetched now (the breaker closed, or this fetch is the probe); else its state, which
        says since when and why it is open."""
        with self._lock:
            state = self._hosts.get(host)
            if state is None or not state.open_until:
                return None
            if state.probing or self.clock() < state.open_until:
                return HostState(state.failures, state.open_until, state.probing, state.last_reason,
                                 state.last_detail)
            state.probing = True
            return None

    def succeeded(self, host: str) -> None:
        with self._lock:
            state = self._hosts.pop(host, None)
        if state is not None and state.open_until:
            self.on_change(host, HostState())

    def failed(self, host: str, reason: str, detail: str) -> None:
        with self._lock:
            state = self._hosts.setdefault(host, HostState())
            state.failures += 1
            state.last_reason, state.last_detail = reason, detail[:300]
            opens = state.probing or (not state.open_until and state.failures >= self.threshold)
            if opens:
                state.open_until, state.probing = self.clock() + self.cooldown_s, False
            changed = HostState(state.failures, state.open_until, False, reason, state.last_detail)
        if opens:
            self.on_change(host, changed)

    def open_until(self, host: str) -> float | None:
        """When the host's cool-down ends, if its breaker has opened; None while it is closed."""
        with self._lock:
            state = self._hosts.get(host)
            return state.open_until if state is not None and state.open_until else None

    def open_hosts(self) -> dict[str, float]:
        """Every host whose breaker is open or half-open, with the end of its cool-down."""
        with self._lock:
            return {host: s.open_until for host, s in self._hosts.items() if s.open_until}


class BreakerFetcher(Fetcher):
    """A `Fetcher` that asks the host's breaker first: an open host's image is refused at once, retryably, with the
    host's last error; every fetch's outcome tells the breaker whether the host answered."""

    def __init__(self, options: FetchOptions, breakers: HostBreakers, *, resolver: Resolver | None = None) -> None:
        super().__init__(options, resolver=resolver)
        self.breakers = breakers

    def fetch(self, url: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
        host = host_of(url)
        if not host:
            return super().fetch(url, max_bytes)
        refused = self.breakers.admit(host)
        if refused is not None:
            raise ImageRejected(refused.last_reason, f"{url}: not fetched, {host} failed {refused.failures} times in a "
                                f"row (last: {refused.last_detail})", retryable=True)
        try:
            data = super().fetch(url, max_bytes)
        except ImageRejected as exc:
            if exc.retryable:
                self.breakers.failed(host, exc.reason, exc.detail)
            else:  # the host answered (404, too large, ...): it is up
                self.breakers.succeeded(host)
            raise
        except BaseException as exc:
            self.breakers.failed(host, "unreachable", repr(exc))
            raise
        self.breakers.succeeded(host)
        return data
