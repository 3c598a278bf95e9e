"""The query benchmark: synthetic vectors shaped like the real ones, latency figures, and a small run end to end
against a served API."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from snapmode.bench.query import Latency, bench_query
from snapmode.bench.synthetic import SYNTHETIC_SITE, SyntheticSource, synthetic_batches
from snapmode.config import Settings
from snapmode.records import ProductRecord


def _real(n: int = 400, dim: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim)) * np.linspace(0.2, 2.0, dim) + np.linspace(-1, 1, dim)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _record(i: int) -> ProductRecord:
    return ProductRecord(site="shop", product_id=str(i), url=f"https://shop.example/{i}", title=f"thing {i}",
                         category=("dress", "shoe")[i % 2], colour=("red", "blue", "green")[i % 3],
                         image_urls=(f"https://shop.example/{i}.jpg",))


def test_synthetic_vectors_follow_the_real_distribution() -> None:
    real = _real()
    source = SyntheticSource.of(real, [_record(i) for i in range(4)])
    drawn = source.vectors(20_000, np.random.default_rng(1))
    assert drawn.dtype == np.float32 and drawn.shape == (20_000, 16)
    assert np.allclose(np.linalg.norm(drawn, axis=1), 1.0, atol=1e-5)
    assert np.abs(drawn.mean(0) - real.mean(0)).max() < 0.05
    # similarity to the real mean direction is spread like the real vectors'
    centre = real.mean(0) / np.linalg.norm(real.mean(0))
    assert abs(float(np.median(drawn @ centre)) - float(np.median(real @ centre))) < 0.05


def test_synthetic_batches_make_one_indexed_image_per_product() -> None:
    source = SyntheticSource.of(_real(), [_record(i) for i in range(6)])
    batches = list(synthetic_batches(2_500, source, batch=1_000, seed=3))
    assert [len(records) for records, _ in batches] == [1_000, 1_000, 500]
    records = [r for rs, _ in batches for r in rs]
    items = [item for _, its in batches for item in its]
    assert len({r.key for r in records}) == 2_500 and {r.site for r in records} == {SYNTHETIC_SITE}
    assert {r.category for r in records} <= {"dress", "shoe"} and {r.colour for r in records} <= {"red", "blue", "green"}
    assert all(item.image_id == r.images()[0].image_id and item.product_key == r.key
               for r, item in zip(records, items))
    again = [item.vector for _, its in synthetic_batches(2_500, source, batch=1_000, seed=3) for item in its]
    assert all(np.array_equal(a.vector, b) for a, b in zip(items, again))  # reproducible from the seed


def test_latency_figures() -> None:
    lat = Latency.of([0.010] * 98 + [0.100, 0.200], wall_s=2.0, errors=1)
    assert (lat.requests, lat.errors, lat.p50_ms, lat.qps) == (100, 1, 10.0, 50.0)
    assert 100 <= lat.p99_ms <= 200


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_small_run_against_a_served_api(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "unused", embedder="backbone", device="cpu",
                        _env_file=None)  # type: ignore[call-arg]
    report = bench_query(settings, vectors=300, clients=2, queries=10, products=12, views=2)
    assert report.fill.real == 12 and report.fill.synthetic == 288
    assert report.fill.index.get("index_type") and report.dim == 1280
    used = report.cpu_ms_per_query["api"]
    assert set(used) == {"api", "clients"} and used["api"] > 0  # milvus-lite's engine: a child of the API process
    assert report.recall_at_10 == 1.0  # FLAT is exact
    assert report.index == {"type": "FLAT", "build": {}, "search": {}, "oversample": 4}  # milvus-lite's default
    assert set(report.api["api"]) == {"1", "2"}
    for lat in (report.floor, *report.api["api"].values()):
        assert lat.requests >= 10 and lat.errors == 0 and 0 < lat.p50_ms <= lat.p99_ms
    assert report.memory_mb["api_process"] > 0
    assert set(report.settled_s) == {"api"}
    assert not (tmp_path / "unused").exists()
    ivf = bench_query(settings.model_copy(update={"vector_index": "IVF_FLAT", "ivf_nlist": 16, "search_nprobe": 1}),
                      vectors=300, clients=1, queries=10, products=12, views=2)
    assert ivf.fill.index.get("index_type") == "IVF_FLAT"  # the collection is built as the settings say
    assert ivf.index == {"type": "IVF_FLAT", "build": {"nlist": 16}, "search": {"nprobe": 1}, "oversample": 4}
    assert set(report.as_dict()["goals"]["api"]) == {  # type: ignore[index]
        "one_client_p50_le_1.3x_floor", "c_clients_p99_le_2x_p50", "c_clients_qps_ge_floor_rate"}


def test_process_figures_without_psutil_read_proc_for_the_process_alone() -> None:
    import psutil

    from snapmode.bench.serve import _cpu_s_alone, _rss_bytes_alone, tree_cpu_s, tree_rss_mb

    sum(i * i for i in range(2_000_000))  # some CPU time to read back
    me = psutil.Process(os.getpid())
    assert _cpu_s_alone(os.getpid()) == pytest.approx(sum(me.cpu_times()[:2]), abs=0.1)
    assert _rss_bytes_alone(os.getpid()) == pytest.approx(me.memory_info().rss, rel=0.2)
    assert tree_cpu_s(os.getpid()) >= _cpu_s_alone(os.getpid()) - 0.1 and tree_cpu_s(None) == 0.0
    assert tree_rss_mb(os.getpid()) > 0 and _cpu_s_alone(2**22 + 1) == 0.0  # no such process


def test_the_measurement_waits_until_the_store_processes_are_idle() -> None:
    import subprocess
    import sys

    from snapmode.bench.serve import wait_settled

    busy_then_idle = subprocess.Popen([sys.executable, "-c", "import time\nt = time.monotonic()\n"
                                       "while time.monotonic() - t < 3: pass\ntime.sleep(60)"])
    try:
        waited = wait_settled([busy_then_idle.pid, None], window_s=0.5, timeout_s=30)
        assert 2.5 <= waited < 10  # through the busy seconds, then one quiet window
        assert wait_settled([busy_then_idle.pid], window_s=0.5, timeout_s=30) < 1.5  # idle now: one window
    finally:
        busy_then_idle.kill()
        busy_then_idle.wait()
