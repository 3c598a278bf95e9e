"""Hostile uploads against a real `snapmode serve` process: 16-bit and RGBA PNGs at the pixel limit, 40 at once.

Each is answered (200) or refused at once (503 with Retry-After); the server's peak RSS, read from the kernel's
high-water mark of its process, stays under a stated bound; `/healthz` keeps answering during the attack. The figures
are printed as a row of the hostile-input table in docs/security.md (run with `-s`)."""

from __future__ import annotations

import io
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from PIL import Image

from snapmode.bench.serve import ServedApi, serve_process
from snapmode.config import Settings
from snapmode.infra.ports import free_port
from tests.conftest import jpeg_bytes

SIDE = 6300  # 39.7 MP, under the default 40 MP limit
UPLOADS = 40
RSS_BOUND_MB = 1000  # the server's peak RSS may grow this much over its idle RSS (8 such uploads once took 8.2 GB)
HEALTH_SANITY_S = 5.0  # not a latency target: only that /healthz never waits for the decodes


def _status_kib(pid: int, field: str) -> int:
    line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith(field))
    return int(line.split()[1])


def _png(mode: str) -> bytes:
    canvas = Image.new(mode, (SIDE, SIDE), 3000 if mode == "I;16" else (40, 90, 200, 128))
    out = io.BytesIO()
    canvas.save(out, "PNG", compress_level=1)
    return out.getvalue()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApi]:
    """`snapmode serve` on an empty embedded data dir, default limits, the backbone embedder on the CPU."""
    root = tmp_path_factory.mktemp("hostile-uploads")
    settings = Settings(data_dir=root / "data", embedder="backbone", device="cpu", _env_file=None)  # type: ignore[call-arg]
    with serve_process(settings, free_port(), root / "serve.log", searches=settings.max_concurrent_searches) as api:
        yield api


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_forty_big_16_bit_and_rgba_uploads_at_once(served: ServedApi) -> None:
    images = {"16-bit": _png("I;16"), "RGBA": _png("RGBA")}
    with httpx.Client(base_url=served.base, timeout=60) as client:  # warm: the first search's one-time allocations
        assert client.post("/search", files={"file": ("w.jpg", jpeg_bytes(), "image/jpeg")}).status_code == 200
    idle_mb = _status_kib(served.pid, "VmRSS:") / 1024
    try:  # the high-water mark from now on (the kernel resets it to the current RSS); else it spans the start too
        Path(f"/proc/{served.pid}/clear_refs").write_text("5")
        peak_since = "the attack"
    except OSError:
        peak_since = "start"

    stop, health = threading.Event(), []

    def poll_health() -> None:
        with httpx.Client(base_url=served.base, timeout=30) as client:
            while not stop.is_set():
                started = time.perf_counter()
                assert client.get("/healthz").status_code == 200
                health.append(time.perf_counter() - started)
                time.sleep(0.1)

    gate = threading.Barrier(UPLOADS)

    def upload(i: int) -> tuple[str, int, str | None]:
        kind = "16-bit" if i % 2 else "RGBA"
        with httpx.Client(base_url=served.base, timeout=60) as client:
            gate.wait()
            answer = client.post("/search", files={"file": (f"{i}.png", images[kind], "image/png")})
        return kind, answer.status_code, answer.headers.get("Retry-After")

    poller = threading.Thread(target=poll_health, daemon=True)
    poller.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(UPLOADS) as pool:
        answers = list(pool.map(upload, range(UPLOADS)))
    took = time.perf_counter() - started
    stop.set()
    poller.join(timeout=30)
    peak_mb = _status_kib(served.pid, "VmHWM:") / 1024

    statuses = Counter(status for _, status, _ in answers)
    answer_text = ", ".join(f"{n} x {status}" for status, n in sorted(statuses.items()))
    print(f"\n| 16-bit and RGBA PNGs of {SIDE} x {SIDE}, {UPLOADS} at once ({len(images['16-bit']) // 1024} and "
          f"{len(images['RGBA']) // 1024} KiB) | {answer_text} | {took:.1f} s | idle {idle_mb:.0f} MiB, peak "
          f"{peak_mb:.0f} MiB since {peak_since} (+{peak_mb - idle_mb:.0f} MiB) |")
    print(f"/healthz during the attack: {len(health)} answers, median {statistics.median(health) * 1000:.0f} ms, "
          f"max {max(health) * 1000:.0f} ms")
    assert set(statuses) <= {200, 503} and statuses[200] >= 1, answers
    assert all(retry == "2" for _, status, retry in answers if status == 503)  # shed at once, told when to retry
    assert peak_mb - idle_mb < RSS_BOUND_MB
    assert len(health) >= 2 and max(health) < HEALTH_SANITY_S
