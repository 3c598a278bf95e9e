"""Hostile servers and records against the image fetch: each is refused or answered within its limits, in a bounded
time and with bounded memory growth (traced allocations, printed as a row of the table in docs/security.md with `-s`)."""

from __future__ import annotations

import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import brotli
import pytest

from snapmode.pipeline.decode import DecodeLimits
from snapmode.pipeline.errors import ImageRejected
from snapmode.pipeline.fetch import Fetcher, FetchOptions, fetch_bytes
from snapmode.pipeline.steps import Rejection, parse_record, prepare_or_reject
from snapmode.records import ProductRecord
from tests.conftest import jpeg_bytes
from tests.loopback import LoopbackServer, route_handler, routes_handler, writer_handler

IMAGE = jpeg_bytes()
LIMIT = 1 << 20  # the byte limit of every fetch here
BOMB = 128 << 20  # what each compression bomb inflates to: 128 times the limit
MEMORY_BOUND = 8 * LIMIT  # generous: the body up to the limit, one decoder buffer, httpx's own
HOSTILE = FetchOptions(timeout_s=1.0, deadline_s=2.0, allow_private=True)


@dataclass
class Cost:
    seconds: float = 0.0
    peak_bytes: int = 0


@contextmanager
def cost(case: str) -> Iterator[Cost]:
    """Wall time and the peak of memory allocated (every thread) while the block runs."""
    measured = Cost()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        yield measured
    finally:
        measured.seconds = time.perf_counter() - started
        measured.peak_bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"\n| {case} | {measured.seconds:.2f} s | {measured.peak_bytes / 2**20:.2f} MiB |")


def outcome(url: str, options: FetchOptions = HOSTILE, **kw: object) -> str:
    """'ok' or the refusal's reason."""
    try:
        fetch_bytes(url, max_bytes=LIMIT, options=options, **kw)  # type: ignore[arg-type]
    except ImageRejected as exc:
        return exc.reason
    return "ok"


def zeros(compressor: Callable[[bytes], bytes], finish: Callable[[], bytes], size: int = BOMB) -> bytes:
    block = bytes(1 << 20)
    return b"".join(compressor(block) for _ in range(size >> 20)) + finish()


@pytest.fixture(scope="module")
def bombs() -> dict[str, tuple[str, bytes]]:
    """Path -> (Content-Encoding, body) of bodies that inflate to `BOMB` zero bytes."""
    gz = zlib.compressobj(9, zlib.DEFLATED, 31)
    gzip_bomb = zeros(gz.compress, gz.flush)
    deflate = zlib.compressobj(9, zlib.DEFLATED, 15)
    br = brotli.Compressor(quality=5)
    return {"/gzip": ("gzip", gzip_bomb), "/deflate": ("deflate", zeros(deflate.compress, deflate.flush)),
            "/br": ("br", zeros(br.process, br.finish)), "/gzip-br": ("gzip, br", brotli.compress(gzip_bomb))}


@pytest.fixture(scope="module")
def shop(bombs: dict[str, tuple[str, bytes]]) -> Iterator[str]:
    routes = {path: (200, "image/jpeg", body, {"Content-Encoding": coding}) for path, (coding, body) in bombs.items()}
    routes |= {"/ok.jpg": (200, "image/jpeg", IMAGE, {}),
               "/stacked.jpg": (200, "image/jpeg", brotli.compress(zlib.compress(IMAGE, wbits=31)),
                                {"Content-Encoding": "gzip, br"}),
               "/zstd.jpg": (200, "image/jpeg", IMAGE, {"Content-Encoding": "zstd"}),
               "/deep.jpg": (200, "image/jpeg", IMAGE, {"Content-Encoding": "gzip, gzip, gzip"})}
    with LoopbackServer(routes_handler(routes)) as server:
        yield server.base


@pytest.mark.parametrize("path", ["/gzip", "/deflate", "/br", "/gzip-br"])
def test_compression_bombs_stop_inflating_at_the_limit(shop: str, bombs: dict[str, tuple[str, bytes]],
                                                       path: str) -> None:
    assert len(bombs[path][1]) < LIMIT  # small on the wire: only the inflated size can refuse it
    with cost(f"{bombs[path][0]} bomb ({len(bombs[path][1]) // 1024} KiB -> {BOMB >> 20} MiB)") as spent:
        assert outcome(shop + path) == "too_large"
    assert spent.seconds < 2 and spent.peak_bytes < MEMORY_BOUND


def test_stacked_codings_are_decoded_and_unknown_or_deep_ones_refused(shop: str) -> None:
    assert fetch_bytes(f"{shop}/stacked.jpg", max_bytes=LIMIT, options=HOSTILE) == IMAGE
    assert outcome(f"{shop}/zstd.jpg") == outcome(f"{shop}/deep.jpg") == "bad_encoding"


def drip(interval_s: float, *, in_headers: bool) -> Callable[[str, BinaryIO], None]:
    """A server that sends one byte every `interval_s`, in the headers or in a long body."""

    def write(path: str, out: BinaryIO) -> None:
        out.write(b"HTTP/1.1 200 OK\r\n")
        if not in_headers:
            out.write(b"Content-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n")
        out.flush()
        while True:
            time.sleep(interval_s)
            out.write(b"x")  # a body byte, or one more byte of a header line that never ends
            out.flush()

    return write


@pytest.mark.parametrize("in_headers", [False, True], ids=["body", "headers"])
def test_a_slow_drip_ends_at_the_total_deadline(in_headers: bool) -> None:
    with LoopbackServer(writer_handler(drip(0.5, in_headers=in_headers))) as server, \
            cost(f"slow drip in the {'headers' if in_headers else 'body'}, 1 byte / 0.5 s") as spent:
        with pytest.raises(ImageRejected) as err:
            fetch_bytes(f"{server.base}/slow.jpg", max_bytes=LIMIT, options=HOSTILE)
    assert (err.value.reason, err.value.retryable) == ("unreachable", True)
    # without the deadline the drip would go on for minutes; the margin above it only absorbs a busy machine
    assert HOSTILE.deadline_s - 0.1 < spent.seconds < HOSTILE.deadline_s + 2.0


def huge_redirect(path: str, out: BinaryIO) -> None:
    """A redirect whose body never ends, then the image."""
    if path == "/ok.jpg":
        out.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(IMAGE) + IMAGE)
        return
    out.write(b"HTTP/1.1 302 Found\r\nLocation: /ok.jpg\r\nContent-Length: 10737418240\r\n\r\n")
    block = bytes(64 * 1024)
    while True:
        out.write(block)


def test_a_redirect_body_is_never_read() -> None:
    with LoopbackServer(writer_handler(huge_redirect)) as server, \
            cost("redirect with a 10 GiB body, then the image") as spent:
        assert fetch_bytes(f"{server.base}/moved", max_bytes=LIMIT, options=HOSTILE) == IMAGE
    assert spent.seconds < 2 and spent.peak_bytes < MEMORY_BOUND


class Hits:
    """A server's request counter."""

    def __init__(self) -> None:
        self.count = 0

    def handler(self, routes: dict[str, tuple[int, str, bytes, dict[str, str]]]):  # type: ignore[no-untyped-def]
        def respond(path: str) -> tuple[int, str, bytes, dict[str, str]]:
            self.count += 1
            return routes.get(path, (404, "text/plain", b"no", {}))

        return route_handler(respond)


Servers = tuple[LoopbackServer, LoopbackServer, Hits]  # public, private, the private one's requests


@pytest.fixture
def public_and_private(monkeypatch: pytest.MonkeyPatch) -> Iterator[Servers]:
    """A "public" server on 127.0.0.1 and a private one on 127.0.0.2, same port; only 127.0.0.1 counts as public."""
    monkeypatch.setattr("snapmode.pipeline.addresses.is_public_address", lambda a: str(a) == "127.0.0.1")
    hits = Hits()
    with LoopbackServer(hits.handler({"/ok.jpg": (200, "image/jpeg", b"private", {})}), host="127.0.0.2") as private:
        public_routes = {"/ok.jpg": (200, "image/jpeg", IMAGE, {}),
                         "/to-private": (302, "text/plain", b"", {"Location": f"{private.base}/ok.jpg"}),
                         "/to-name": (302, "text/plain", b"", {"Location": f"http://intranet.test:{private.port}/"})}
        with LoopbackServer(routes_handler(public_routes), port=private.port) as public:
            yield public, private, hits


@pytest.mark.parametrize("path", ["/to-private", "/to-name"])
def test_a_redirect_to_a_private_address_is_refused(public_and_private: Servers, path: str) -> None:
    public, _, hits = public_and_private
    resolver = {"intranet.test": ["127.0.0.2"]}
    with cost(f"redirect to a private address ({path})"):
        reason = outcome(public.base + path, FetchOptions(timeout_s=1.0, deadline_s=2.0),
                         resolver=lambda host, port: resolver[host])
    assert reason == "private_address" and hits.count == 0


def test_a_rebinding_name_is_connected_to_the_address_that_was_checked(public_and_private: Servers) -> None:
    public, _, hits = public_and_private
    answers = iter([["127.0.0.1"]] + [["127.0.0.2"]] * 10)  # TTL 0: public to the first question, private after
    asked: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        asked.append(host)
        return next(answers)

    with cost("DNS rebinding: public, then private"):
        data = fetch_bytes(f"http://shop.test:{public.port}/ok.jpg", max_bytes=LIMIT,
                           options=FetchOptions(timeout_s=1.0, deadline_s=2.0), resolver=rebinding)
    assert data == IMAGE and asked == ["shop.test"] and hits.count == 0


def test_a_name_that_does_not_resolve_is_refused_and_retryable() -> None:
    def failing(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(ImageRejected) as err:
        fetch_bytes("http://nowhere.test/a.jpg", options=HOSTILE, resolver=failing)
    assert (err.value.reason, err.value.retryable) == ("unreachable", True)


def test_a_slow_resolution_counts_inside_the_total_deadline() -> None:
    answered = threading.Event()

    def stalling(host: str, port: int) -> list[str]:  # a resolver that answers after 30 s, or when the test ends
        answered.wait(30)
        return ["127.0.0.1"]

    options = FetchOptions(timeout_s=10.0, deadline_s=1.0, allow_private=True)  # only the deadline can end it
    try:
        with cost("a name that takes 30 s to resolve") as spent, pytest.raises(ImageRejected) as err:
            fetch_bytes("http://stalling.test/a.jpg", max_bytes=LIMIT, options=options, resolver=stalling)
    finally:
        answered.set()
    assert (err.value.reason, err.value.retryable) == ("unreachable", True)
    assert "no answer within" in err.value.detail and 0.9 < spent.seconds < 2.0


@pytest.mark.parametrize("host", ["2130706433", "0x7f.0.0.1", "127.1", "[::ffff:127.0.0.1]", "[::1]", "0.0.0.0"])
def test_addresses_in_every_form_are_refused(host: str) -> None:
    assert outcome(f"http://{host}:9/a.jpg", FetchOptions(timeout_s=1.0)) == "private_address"


def test_an_octal_address_is_refused_before_any_connection() -> None:
    assert outcome("http://0177.0.0.1:9/a.jpg", FetchOptions(timeout_s=1.0)) == "bad_url"  # httpx refuses the URL


def test_proxies_from_the_environment_are_ignored(shop: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "")
    assert outcome(f"{shop}/ok.jpg") == "ok"


def record(*urls: str) -> ProductRecord:
    return ProductRecord(site="shop", product_id="p", url="https://shop.example/p", title="p", image_urls=urls)


def test_records_with_file_and_ftp_images_are_refused_with_their_reason(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(IMAGE)
    crawled = record((tmp_path / "a.jpg").as_uri(), "file:///etc/passwd", "file:///dev/zero")
    with Fetcher(FetchOptions()) as fetcher, cost("record with file:// images (crawled or published)"):
        refused = [prepare_or_reject(crawled, ref, DecodeLimits(), fetcher) for ref in crawled.images()]
    assert all(isinstance(r, Rejection) and r.reason == "file_not_allowed" for r in refused)
    assert "snapmode ingest PATH" in refused[0].detail  # type: ignore[union-attr]
    ftp = parse_record(record("https://shop.example/a.jpg").to_json().replace("https://", "ftp://"), "test")
    assert isinstance(ftp, Rejection) and ftp.reason == "invalid_record" and "http(s) or file" in ftp.detail


def test_a_device_is_not_read_even_where_files_are_allowed() -> None:
    with cost("file:///dev/zero with local files allowed") as spent:
        assert outcome("file:///dev/zero", FetchOptions(allow_files=True)) == "unreadable"
    assert spent.seconds < 1 and spent.peak_bytes < MEMORY_BOUND


def test_fetches_to_one_host_share_its_slots() -> None:
    lock, in_flight, most = threading.Lock(), [0], [0]

    def slow(path: str, out: BinaryIO) -> None:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.2)
        with lock:
            in_flight[0] -= 1
        out.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(IMAGE) + IMAGE)

    with LoopbackServer(writer_handler(slow)) as server, \
            Fetcher(FetchOptions(allow_private=True, per_host=2)) as fetcher, ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: fetcher.fetch(f"{server.base}/{i}.jpg", LIMIT), range(8)))
    assert results == [IMAGE] * 8 and most[0] == 2

