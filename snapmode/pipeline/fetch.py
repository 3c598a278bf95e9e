"""Read image bytes from a file path, a file:// URL or http(s), with timeouts, size limits and address checks."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx

from snapmode.pipeline.errors import ImageRejected

USER_AGENT = "SnapModeBot/0.1 (+https://github.com/snapmode/snapmode)"
_RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}


def is_public_host(host: str) -> bool:
    """True when every address `host` resolves to is public (not private, loopback, link-local or reserved)."""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return True  # unresolvable: the request itself fails with a clear error
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global:
            return False
    return True


def make_http_client(*, allow_private: bool = False, max_redirects: int = 5) -> httpx.Client:
    """An HTTP client that follows a bounded number of redirects and, unless allowed, refuses every hop
    (redirects included) that leads to a non-public address."""

    def check_host(request: httpx.Request) -> None:
        if not allow_private and not is_public_host(request.url.host):
            raise ImageRejected("private_address", f"{request.url.host} resolves to a non-public address")

    return httpx.Client(follow_redirects=True, max_redirects=max_redirects, headers={"User-Agent": USER_AGENT},
                        event_hooks={"request": [check_host]})


def read_file(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ImageRejected("too_large", f"{path} has {size} bytes > limit {max_bytes}")
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise ImageRejected("not_found", str(path)) from exc
    except (IsADirectoryError, PermissionError) as exc:
        raise ImageRejected("unreadable", f"{path}: {exc}") from exc


def fetch_bytes(url: str, *, timeout_s: float = 10.0, max_bytes: int = 20 * 1024 * 1024,
                allow_private: bool = False, client: httpx.Client | None = None) -> bytes:
    """The bytes at `url` (path, file:// or http(s)); raises `ImageRejected`, retryable for transient failures.

    A given `client` must come from `make_http_client`, which enforces the address policy on every hop.
    """
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        return read_file(Path(unquote(parsed.path) if parsed.scheme else url), max_bytes)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ImageRejected("bad_url", f"unsupported URL {url[:200]!r}")
    own_client = client is None
    client = client or make_http_client(allow_private=allow_private)
    try:
        with client.stream("GET", url, timeout=timeout_s) as response:
            if response.status_code >= 400:
                raise ImageRejected("http_error", f"HTTP {response.status_code} for {url}",
                                    retryable=response.status_code in _RETRYABLE_STATUS)
            declared = int(response.headers.get("content-length") or 0)
            if declared > max_bytes:
                raise ImageRejected("too_large", f"Content-Length {declared} > limit {max_bytes}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise ImageRejected("too_large", f"body exceeds limit {max_bytes}")
            return bytes(body)
    except httpx.TooManyRedirects as exc:
        raise ImageRejected("redirect_loop", f"{url}: {exc}") from exc
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        raise ImageRejected("unreachable", f"{url}: {exc!r}", retryable=True) from exc
    finally:
        if own_client:
            client.close()
