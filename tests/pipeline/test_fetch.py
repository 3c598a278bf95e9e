"""Fetching image bytes over HTTP and from files: limits, errors, and the private-address policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from snapmode.pipeline.errors import ImageRejected
from snapmode.pipeline.fetch import FetchOptions, fetch_bytes
from tests.conftest import jpeg_bytes
from tests.loopback import LoopbackServer, Response, routes_handler

IMAGE = jpeg_bytes()


ROUTES: dict[str, Response] = {
    "/ok.jpg": (200, "image/jpeg", IMAGE, {}), "/missing.jpg": (404, "text/plain", b"no", {}),
    "/busy.jpg": (503, "text/plain", b"later", {}), "/big.jpg": (200, "image/jpeg", b"x" * 5000, {}),
    "/loop": (302, "text/plain", b"", {"Location": "/loop"}),
}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with LoopbackServer(routes_handler(ROUTES)) as server:
        yield server.base


def fetch(url: str, **kw: object) -> bytes:
    return fetch_bytes(url, allow_private=True, timeout_s=5, **kw)  # type: ignore[arg-type]


def test_fetches_an_image(base_url: str) -> None:
    assert fetch(f"{base_url}/ok.jpg") == IMAGE


@pytest.mark.parametrize(("path", "reason", "retryable"), [
    ("/missing.jpg", "http_error", False), ("/busy.jpg", "http_error", True), ("/loop", "redirect_loop", False)])
def test_http_failures_say_why_and_whether_to_retry(base_url: str, path: str, reason: str, retryable: bool) -> None:
    with pytest.raises(ImageRejected) as err:
        fetch(base_url + path)
    assert (err.value.reason, err.value.retryable) == (reason, retryable)


def test_body_over_the_limit_is_refused(base_url: str) -> None:
    with pytest.raises(ImageRejected, match="too_large"):
        fetch(f"{base_url}/big.jpg", max_bytes=1000)


def test_unreachable_host_is_retryable() -> None:
    with pytest.raises(ImageRejected) as err:
        fetch("http://127.0.0.1:9/x.jpg")
    assert err.value.reason == "unreachable" and err.value.retryable


def test_loopback_is_refused_unless_allowed(base_url: str) -> None:
    with pytest.raises(ImageRejected, match="private_address"):
        fetch_bytes(f"{base_url}/ok.jpg", allow_private=False)


@pytest.mark.parametrize("url", ["ftp://example.com/a.jpg", "gopher://x", "http://"])
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(ImageRejected, match="bad_url"):
        fetch_bytes(url)


def test_files_by_path_and_uri_when_allowed(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    path.write_bytes(IMAGE)
    local = FetchOptions(allow_files=True)
    assert fetch_bytes(str(path), options=local) == fetch_bytes(path.as_uri(), options=local) == IMAGE
    with pytest.raises(ImageRejected, match="not_found"):
        fetch_bytes((tmp_path / "nope.jpg").as_uri(), options=local)
    for url in (str(path), path.as_uri()):
        with pytest.raises(ImageRejected, match="file_not_allowed"):
            fetch_bytes(url)


def test_records_read_local_files_only_under_the_file_roots(tmp_path: Path) -> None:
    """A cluster indexing a catalog on its own disk: files under `file_roots` are read, nothing else is."""
    catalog, elsewhere = tmp_path / "catalog", tmp_path / "elsewhere"
    catalog.mkdir()
    elsewhere.mkdir()
    (catalog / "a.jpg").write_bytes(jpeg_bytes())
    (elsewhere / "secret.jpg").write_bytes(jpeg_bytes())
    (catalog / "link.jpg").symlink_to(elsewhere / "secret.jpg")
    options = FetchOptions(file_roots=(catalog,))

    assert fetch_bytes((catalog / "a.jpg").as_uri(), options=options) == jpeg_bytes()
    for outside in (elsewhere / "secret.jpg", catalog / "link.jpg", catalog / ".." / "elsewhere" / "secret.jpg"):
        with pytest.raises(ImageRejected) as refused:
            fetch_bytes(outside.as_uri(), options=options)
        assert refused.value.reason == "file_not_allowed", outside
