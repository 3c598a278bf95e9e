"""Read image bytes over http(s), or from local files where the caller allows them, within limits and address checks."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import ParseResult, unquote, urlparse

import httpx

from snapmode.pipeline.addresses import Resolver
from snapmode.pipeline.errors import ImageRejected
from snapmode.pipeline.hostslots import HostSlots
from snapmode.pipeline.inflate import ACCEPT_ENCODING, decoder_for
from snapmode.pipeline.pinned import PinnedTransport, deadline_at

USER_AGENT = "SnapModeBot/0.1 (+https://github.com/snapmode/snapmode)"
_RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}
DEFAULT_MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class FetchOptions:
    """How images are fetched; `snapmode.platform.fetch_options` builds them from the settings."""

    timeout_s: float = 10.0  # each connect, read or write
    deadline_s: float = 30.0  # the whole fetch: redirects, headers and body, from the moment a host slot is free
    allow_private: bool = False  # http(s) to private, loopback, link-local and other non-public addresses
    allow_files: bool = False  # file:// URLs and paths: only for local ingestion of the user's own folders
    file_roots: tuple[Path, ...] = ()  # else files only under these directories (a cluster indexing a local catalog)
    per_host: int = 4  # fetches in flight to one host at a time
    max_redirects: int = 5


class Fetcher:
    """Fetches images under one `FetchOptions`; threads share its connections and its per-host slots.

    Every hop resolves its host once and connects to exactly the addresses that passed the check; no proxy or
    certificate setting is read from the environment.
    """

    def __init__(self, options: FetchOptions = FetchOptions(), *, resolver: Resolver | None = None) -> None:
        self.options = options
        self.slots = HostSlots(options.per_host)
        self.client = httpx.Client(transport=PinnedTransport(allow_private=options.allow_private, resolver=resolver),
                                   trust_env=False, follow_redirects=False, timeout=options.timeout_s,
                                   headers={"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING})

    def fetch(self, url: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
        """The bytes at `url`, at most `max_bytes` once decoded; raises `ImageRejected`, retryable when a later
        try may succeed (a timeout, HTTP 503, a name that does not resolve)."""
        parsed = urlparse(url)
        if parsed.scheme in ("", "file"):
            return self._read_local(url, parsed, max_bytes)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ImageRejected("bad_url", f"only http(s) URLs are fetched, got {url[:200]!r}")
        try:
            return self._get(httpx.URL(url), max_bytes)
        except httpx.InvalidURL as exc:
            raise ImageRejected("bad_url", f"{url[:200]!r}: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise ImageRejected("unreachable", f"{url}: timed out ({exc})", retryable=True) from exc
        except httpx.TransportError as exc:
            raise ImageRejected("unreachable", f"{url}: {exc!r}", retryable=True) from exc

    def _get(self, url: httpx.URL, max_bytes: int) -> bytes:
        """GET with redirects followed by hand: a redirect's body is never read, each hop holds its host's slot."""
        request = self.client.build_request("GET", url)
        visited = {request.url}
        end: float | None = None
        for _ in range(self.options.max_redirects + 1):
            with self.slots.slot(request.url.host, None if end is None else end - time.monotonic()):
                end = end or time.monotonic() + self.options.deadline_s
                with deadline_at(end):
                    response = self.client.send(request, stream=True)
                    try:
                        if response.next_request is None:
                            return read_body(response, max_bytes)
                        request = response.next_request
                    finally:
                        response.close()
            if request.url.scheme not in ("http", "https"):
                raise ImageRejected("bad_url", f"{url} redirects to a non-http(s) URL {str(request.url)[:200]!r}")
            if request.url in visited:
                raise ImageRejected("redirect_loop", f"{url} redirects back to {request.url}")
            visited.add(request.url)
        raise ImageRejected("redirect_loop", f"{url}: more than {self.options.max_redirects} redirects")

    def _read_local(self, url: str, parsed: ParseResult, max_bytes: int) -> bytes:
        if parsed.scheme == "file" and parsed.netloc not in ("", "localhost"):
            raise ImageRejected("bad_url", f"file URL on another host: {url[:200]!r}")
        path = Path(unquote(parsed.path) if parsed.scheme else url)
        if not (self.options.allow_files or under_roots(path, self.options.file_roots)):
            raise ImageRejected("file_not_allowed", "local files are read only when ingesting your own folders "
                                "(snapmode ingest PATH) or under SNAPMODE_FILE_ROOTS, not from records or the API: "
                                f"{url[:200]!r}")
        return read_file(path, max_bytes)


    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def read_body(response: httpx.Response, max_bytes: int) -> bytes:
    """The decoded body, refused as soon as it, or what came over the wire, grows past `max_bytes`."""
    if response.status_code >= 400:
        raise ImageRejected("http_error", f"HTTP {response.status_code} for {response.url}",
                            retryable=response.status_code in _RETRYABLE_STATUS)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise ImageRejected("too_large", f"Content-Length {declared} > limit {max_bytes}")
    decoder = decoder_for(response.headers.get("content-encoding"), max_bytes)
    body, received = bytearray(), 0
    try:
        for chunk in response.iter_raw():
            received += len(chunk)
            if received > max_bytes:
                raise ImageRejected("too_large", f"more than {max_bytes} bytes on the wire")
            body += decoder.feed(chunk)
        body += decoder.flush()
    except ImageRejected as exc:
        if exc.reason == "too_large":
            raise ImageRejected("too_large", f"{response.url}: body exceeds limit {max_bytes} ({exc.detail})") from exc
        raise
    return bytes(body)


def under_roots(path: Path, roots: Sequence[Path]) -> bool:
    """Whether `path` lies under one of `roots`; resolved first, so symlinks and `..` cannot lead out of a root."""
    real = path.resolve()
    return any(real.is_relative_to(root.resolve()) for root in roots)


def read_file(path: Path, max_bytes: int) -> bytes:
    """A regular file's bytes, at most `max_bytes`; devices, FIFOs and directories are refused without blocking."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError as exc:
        raise ImageRejected("not_found", str(path)) from exc
    except (IsADirectoryError, PermissionError, OSError) as exc:
        raise ImageRejected("unreadable", f"{path}: {exc}") from exc
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ImageRejected("unreadable", f"{path} is not a regular file")
        if info.st_size > max_bytes:
            raise ImageRejected("too_large", f"{path} has {info.st_size} bytes > limit {max_bytes}")
        data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ImageRejected("too_large", f"{path} grew past the limit {max_bytes}")
    return data


def fetch_bytes(url: str, *, max_bytes: int = DEFAULT_MAX_BYTES, timeout_s: float = 10.0, allow_private: bool = False,
                options: FetchOptions | None = None, resolver: Resolver | None = None) -> bytes:
    """One fetch on its own connections (`timeout_s` and `allow_private` stand for `options` when none is given);
    a pipeline keeps one `Fetcher` for all its images."""
    with Fetcher(options or FetchOptions(timeout_s=timeout_s, allow_private=allow_private), resolver=resolver) as f:
        return f.fetch(url, max_bytes)
