"""`snapmode bench ingest` without a cluster: paced offering, freshness, the ratio per round and the CPU profile."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import pytest

from snapmode.bench.ingest import IngestBench, LoadRun, null_settings
from snapmode.bench.ingest_load import Watch, offer_at_once, offer_at_rate, percentiles
from snapmode.bench.ingest_profile import BENCH_PROCESS, add_cpu, cpu_profile
from snapmode.records import ProductRecord, image_id
from snapmode.waiting import wait_until


class DelayedStore:
    """A vector store where a published image becomes searchable `delay_s` after its record was sent."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.at: dict[str, float] = {}

    def existing(self, ids: Sequence[str]) -> set[str]:
        now = time.time()
        return {i for i in ids if i in self.at and now - self.at[i] >= self.delay_s}


class Producer:
    def __init__(self, store: DelayedStore) -> None:
        self.store = store
        self.sent: list[tuple[float, str]] = []

    def send(self, topic: str, messages: Sequence[tuple[str | None, bytes]]) -> None:
        for key, value in messages:
            record = ProductRecord.model_validate_json(value)
            self.sent.append((time.monotonic(), str(key)))
            self.store.at.update({image_id(record.site, record.product_id, u): time.time() for u in record.image_urls})

    def close(self) -> None: ...


def records(n: int, views: int = 2) -> list[ProductRecord]:
    return [ProductRecord(site="bench", product_id=f"p{i}", url=f"https://shop.example/p{i}", title="x",
                          image_urls=tuple(f"https://shop.example/p{i}/{v}.jpg" for v in range(views)))
            for i in range(n)]


def test_offer_at_rate_paces_the_records_and_measures_freshness() -> None:
    store = DelayedStore(delay_s=0.3)
    producer, watch = Producer(store), Watch(store)  # type: ignore[arg-type]
    achieved = offer_at_rate(producer, "t", watch, records(6), images_per_s=20.0, timeout_s=5)
    span = producer.sent[-1][0] - producer.sent[0][0]
    assert span >= 0.45  # 2 images per record at 20 images/s: one every 0.1 s, never ahead of time
    assert achieved == pytest.approx(20.0, rel=0.3)
    assert watch.done and len(watch.freshness_s()) == 12
    p50, p99 = percentiles(watch.freshness_s())
    assert 0.3 <= p50 <= p99 < 1.5  # the delay, within a poll or so


def test_offer_at_once_waits_for_every_image_or_the_timeout() -> None:
    store = DelayedStore(delay_s=0.0)
    watch = Watch(store)  # type: ignore[arg-type]
    offer_at_once(Producer(store), "t", watch, records(5), timeout_s=5)  # type: ignore[arg-type]
    assert watch.done and watch.images_per_s() > 0
    never = DelayedStore(delay_s=60)
    late = Watch(never)  # type: ignore[arg-type]
    started = time.monotonic()
    offer_at_once(Producer(never), "t", late, records(2), timeout_s=0.5)  # type: ignore[arg-type]
    assert not late.done and time.monotonic() - started < 2 and percentiles(late.freshness_s())[0] != 0


def test_ratio_per_round_uses_the_embedder_passes_around_it_and_keys_stay() -> None:
    bench = IngestBench(images=400, embedder_runs=[20.0, 24.0, 22.0], pipeline_runs=[17.6, 19.55],
                        model_cpu_ms=[95.0, 90.0, 100.0], freshness_s=[1.0, 2.0, 3.0],
                        loads=[LoadRun(load=0.5, offered_ips=9.1, achieved_ips=9.0, images=400,
                                       freshness_s=[1.0] * 99 + [4.0])],
                        profile={**cpu_profile({"EmbedBolt": 88.0, "kafka": 4.0, BENCH_PROCESS: 8.0}, images=800),
                                 "idle_cpu_ms_per_s": {"kafka": 15.0, BENCH_PROCESS: 3.0, "storm worker (JVM)": 40.0}})
    assert bench.ratios == pytest.approx([0.8, 0.85])
    figures = json.loads(json.dumps(bench.as_dict()))
    assert figures["ratio"] == pytest.approx(0.825) and figures["embedder_ips"] == 22.0
    assert figures["embedder_spread"] == pytest.approx(4 / 22, abs=1e-3)
    assert figures["pipeline_images_per_s"] == pytest.approx(18.57, abs=0.01)
    # 115 ms of CPU an image in the topology and the cluster (the benchmark's own left out), 95 of them the model's
    assert figures["cpu_ms_per_image"] == 115.0 and figures["model_cpu_ms_per_image"] == 95.0
    assert figures["cpu_ms_per_image_outside_model"] == 20.0
    assert figures["idle_cpu_ms_per_s"] == 55.0
    assert figures["load_50pct_ips"] == 9.0 and figures["load_50pct_freshness_p50_s"] == 1.0
    assert 1.0 < figures["load_50pct_freshness_p99_s"] <= 4.0
    assert list(figures["profile"]["cpu_s"]) == ["EmbedBolt", BENCH_PROCESS, "kafka"]
    assert figures["profile"]["cpu_ms_per_image"]["EmbedBolt"] == 110.0


def test_without_a_model_everything_is_outside_it() -> None:
    bench = IngestBench(images=400, embedder_runs=[], pipeline_runs=[160.0],
                        profile=cpu_profile({"FetchBolt": 2.0, "milvus": 2.0}, images=400))
    figures = bench.as_dict()
    assert figures["cpu_ms_per_image_outside_model"] == figures["cpu_ms_per_image"] == 10.0
    assert figures["model_cpu_ms_per_image"] == 0.0 and figures["ratio"] == 0.0


def test_the_null_topology_writes_nowhere_the_configured_one_does(settings) -> None:  # type: ignore[no-untyped-def]
    configured = settings.model_copy(update={"solr_url": "http://solr:8983/solr/products/",
                                             "milvus_uri": "http://milvus:19530"})
    bench = null_settings(configured)
    assert bench.embedder == "null" and configured.embedder == "cbir-gan"
    assert bench.solr_url == "http://solr:8983/solr/products_bench_null" and bench.milvus_uri == configured.milvus_uri
    for name in ("topology_name", "records_topic", "retry_topic_name", "dead_letter_topic", "collection", "solr_url",
                 "handoff_dir"):
        if getattr(configured, name) is not None:
            assert getattr(bench, name) != getattr(configured, name), name
    assert null_settings(settings).solr_url == f"http://127.0.0.1:{settings.solr_port}/solr/products_bench_null"


def test_cpu_seconds_add_up_over_rounds() -> None:
    spent: dict[str, float] = {}
    add_cpu(spent, {"a": 1.0}, {"a": 3.0, "b": 1.0})
    add_cpu(spent, {"a": 5.0, "b": 1.0}, {"a": 6.0, "b": 1.5})
    assert spent == {"a": 3.0, "b": 1.5}


def test_cpu_seconds_count_this_topology_and_this_cluster_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    from snapmode.config import Settings
    from snapmode.bench.ingest_profile import cpu_seconds

    settings = Settings(data_dir=tmp_path, topology_name="bench-t", _env_file=None)  # type: ignore[call-arg]
    run_dir = str(settings.cluster_run_dir.resolve())
    burn = "import sys, time; t = time.process_time(); exec('while time.process_time() - t < 0.2: pass'); time.sleep(30)"
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {burn!r}, 'streamparse_run', '-s', 'json', " \
            f"'snapmode.topologies.embed.EmbedBolt'])"
    argv = [[sys.executable, "-c", child, "org.apache.storm.daemon.worker.Worker", "-Dstorm.id=bench-t-1-2"],
            [sys.executable, "-c", child, "org.apache.storm.daemon.worker.Worker", "-Dstorm.id=other-1-2"],
            [sys.executable, "-c", burn, f"{run_dir}/data/milvus/bin/milvus", "run", "standalone"],
            [sys.executable, "-c", burn, "/elsewhere/cluster/milvus", "run", "standalone"]]
    procs = [subprocess.Popen(a) for a in argv]
    try:
        def burnt() -> dict[str, float] | None:
            used = cpu_seconds(settings)
            return used if min(used.get("EmbedBolt", 0), used.get("milvus", 0)) >= 0.2 else None

        used = wait_until(burnt, timeout_s=20, what="each burner's 0.2 s of CPU",
                          detail=lambda: str(cpu_seconds(settings)))
    finally:
        for proc in procs:
            proc.kill()
    assert set(used) >= {"EmbedBolt", "storm worker (JVM)", "milvus", "bench (this process)"}
    assert 0.2 <= used["EmbedBolt"] < 0.38  # one of the two workers' children: the other topology's left out
    assert 0.2 <= used["milvus"] < 0.38  # the other cluster's left out


def test_steady_rate_leaves_out_filling_and_draining() -> None:
    watch = Watch(DelayedStore(0))  # type: ignore[arg-type]
    watch.sent_at = {f"i{n}": 0.0 for n in range(100)}
    watch.seen_at = {f"i{n}": 5.0 + n / 10 for n in range(99)} | {"i99": 40.0}  # 10 images/s, a slow last one
    assert watch.steady_images_per_s() == pytest.approx(10.0, rel=0.02)
    assert watch.images_per_s() == pytest.approx(2.5)
