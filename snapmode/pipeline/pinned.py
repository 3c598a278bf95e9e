"""An httpx transport that connects only to the checked addresses of each host, and never past the fetch's deadline.

The host name is resolved and checked once per connection, and the socket goes to exactly those addresses; TLS still
verifies the certificate against the host name (SNI included), since httpcore starts TLS with the URL's host.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from ssl import SSLContext

import httpcore
import httpx

from snapmode.pipeline.addresses import Resolver, checked_addresses

_deadline: ContextVar[float | None] = ContextVar("snapmode_fetch_deadline", default=None)


@contextmanager
def deadline_at(end: float) -> Iterator[None]:
    """Every network operation of this thread's requests ends by `end` (a `time.monotonic()` value)."""
    token = _deadline.set(end)
    try:
        yield
    finally:
        _deadline.reset(token)


def _bounded(timeout: float | None, timed_out: type[httpcore.TimeoutException]) -> float | None:
    """`timeout`, shortened to what is left before the deadline; raises `timed_out` once it has passed."""
    end = _deadline.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise timed_out("the fetch's total deadline passed")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read, write and TLS handshake ends by the deadline of the request using it."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, _bounded(timeout, httpcore.ConnectTimeout))
        return DeadlineStream(tls)

    def get_extra_info(self, info: str) -> object:
        return self._stream.get_extra_info(info)


class PinnedBackend(httpcore.NetworkBackend):
    """Resolves and checks the host once per connection, then connects to those addresses only."""

    def __init__(self, *, allow_private: bool = False, resolver: Resolver | None = None) -> None:
        self.allow_private = allow_private
        self.resolver = resolver
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        # Resolving is part of connecting: it ends by the connect timeout and the fetch's deadline too.
        addresses = checked_addresses(host, port, allow_private=self.allow_private, resolver=self.resolver,
                                      timeout_s=_bounded(timeout, httpcore.ConnectTimeout))
        failure: Exception | None = None
        for address in addresses:
            try:
                stream = self._sockets.connect_tcp(str(address), port, _bounded(timeout, httpcore.ConnectTimeout),
                                                   local_address, socket_options)
                return DeadlineStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are never fetched")

    def sleep(self, seconds: float) -> None:
        self._sockets.sleep(seconds)


class PinnedTransport(httpx.HTTPTransport):
    """httpx's own transport (connection pool, HTTP/1.1, TLS), with its sockets opened by a `PinnedBackend`."""

    def __init__(self, *, allow_private: bool = False, resolver: Resolver | None = None,
                 limits: httpx.Limits = httpx.Limits(max_connections=100, max_keepalive_connections=20),
                 ssl_context: SSLContext | None = None) -> None:
        """`ssl_context`: the certificates to trust [default: httpx's, the certifi bundle]."""
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore.ConnectionPool(  # the pool httpx builds, with the backend httpx has no argument for
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False), max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(allow_private=allow_private, resolver=resolver))
