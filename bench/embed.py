"""Embedding throughput and peak memory at several batch sizes, on the CPU and on CUDA when present."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from snapmode.bench.serve import own_cpu_s


WARM_UP_CALLS, WARM_UP_S = 3, 0.5  # untimed before each row: the first calls of a runtime are several times slower


@dataclass(frozen=True, slots=True)
class BenchRow:
    embedder: str
    device: str
    batch_size: int
    images_per_s: float
    peak_memory_mb: float  # CUDA: peak allocated by torch; CPU: peak resident set size of the process
    cpu_ms_per_image: float  # CPU time of the process (every thread but the memory probe's) per image: what an image
    # costs the machine, steadier than images/s on a shared one


def sample_images(n: int, size: int = 256, seed: int = 0) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)) for _ in range(n)]


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


class _PeakRss:
    """Samples the resident set size every few milliseconds while the block runs."""

    def __enter__(self) -> _PeakRss:
        self.start = self.peak = _rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, _rss_mb())
        self.cpu_s = time.thread_time()  # this probe's own CPU, not the embedder's

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())


def bench_embedder(make_embedder: Callable[[str, int], object], devices: Sequence[str], batch_sizes: Sequence[int],
                   *, min_images: int = 64, min_seconds: float = 2.0, name: str = "") -> list[BenchRow]:
    """For each device and batch size: embed at least `min_images` images for at least `min_seconds` (after three warm-up
    batches, half a second at least) and report images/s and peak memory. `make_embedder(device, batch_size)` builds the embedder `name`."""
    rows = []
    for device in devices:
        for batch_size in batch_sizes:
            embedder = make_embedder(device, batch_size)
            images = sample_images(batch_size)
            warm_until, calls = time.perf_counter() + WARM_UP_S, 0
            while calls < WARM_UP_CALLS or time.perf_counter() < warm_until:  # arenas grown, threads up, caches warm
                embedder.embed(images)
                calls += 1
            cuda = device.startswith("cuda")
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            done, began, cpu_began = 0, time.perf_counter(), own_cpu_s()
            with _PeakRss() as rss:
                while done < min_images or time.perf_counter() - began < min_seconds:
                    embedder.embed(images)
                    done += batch_size
                if cuda:
                    torch.cuda.synchronize()
            elapsed = time.perf_counter() - began
            cpu_s = own_cpu_s() - cpu_began - rss.cpu_s
            peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else rss.peak
            rows.append(BenchRow(name, device, batch_size, done / elapsed, peak, round(1000 * cpu_s / done, 2)))
    return rows
