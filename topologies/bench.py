"""`snapmode bench ingest`: the bare embedder's images/s against images/s from Kafka to searchable through Storm."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from snapmode.config import Settings
from snapmode.embedding import build_embedder, embedder_dim
from snapmode.pipeline.fetch import under_roots
from snapmode.pipeline.steps import Fetcher, FetchOptions, embed_images, prepare_image
from snapmode.platform import decode_limits
from snapmode.queue import KafkaProducerQueue
from snapmode.records import ProductRecord
from snapmode.stores.factory import build_vector_store
from snapmode.topologies.nimbus import topology_status
from snapmode.topologies.publish import publish

BENCH_SEED = 11


class TopologyNotReady(RuntimeError):
    """The benchmark needs the ingestion topology running on the cluster and able to read its photos."""


@dataclass
class IngestBench:
    images: int
    embedder_ips: float
    pipeline_ips: float
    freshness_s: list[float] = field(default_factory=list)  # publish -> searchable, per image
    profile: dict[str, Any] = field(default_factory=dict)  # per component: executed tuples, process latency

    @property
    def ratio(self) -> float:
        return self.pipeline_ips / self.embedder_ips if self.embedder_ips else 0.0

    def as_dict(self) -> dict[str, Any]:
        fresh = np.asarray(self.freshness_s or [float("nan")])
        return {"images": self.images, "embedder_ips": round(self.embedder_ips, 2),
                "pipeline_ips": round(self.pipeline_ips, 2), "ratio": round(self.ratio, 3),
                "freshness_p50_s": round(float(np.percentile(fresh, 50)), 2),
                "freshness_p99_s": round(float(np.percentile(fresh, 99)), 2), "profile": self.profile}


def bench_records(settings: Settings, products: int, catalog: Path | None, site: str) -> list[ProductRecord]:
    """`products` records of the given catalog (or of a generated one), under a fresh `site` so nothing is indexed."""
    from snapmode.catalog.generate import generate_catalog
    from snapmode.catalog.manifest import MANIFEST, catalog_records

    generated = catalog is None
    catalog = catalog or settings.data_dir / "bench-catalog"
    if not under_roots(catalog, settings.file_roots):
        raise TopologyNotReady(f"the topology reads the benchmark's photos ({catalog}) only under "
                               "SNAPMODE_FILE_ROOTS: set SNAPMODE_FILE_ROOTS=. (or a directory above them) and "
                               "submit the topology again")
    if generated and (not (catalog / MANIFEST).is_file()
                      or sum(1 for _ in (catalog / MANIFEST).open()) < products + 1):
        generate_catalog(catalog, products=products + 1, views=4, seed=BENCH_SEED)
    records = [r for r in catalog_records(catalog, site=site) if isinstance(r, ProductRecord)]
    return records[:products + 1]


def measure_embedder(settings: Settings, records: list[ProductRecord]) -> float:
    """Images/s of one batched forward pass after another, images decoded beforehand: the model alone."""
    limits = decode_limits(settings)
    with Fetcher(FetchOptions(timeout_s=settings.fetch_timeout_s, allow_private=True, allow_files=True)) as fetcher:
        prepared = [prepare_image(r, ref, limits, fetcher) for r in records for ref in r.images()]
    embedder = build_embedder(settings)
    size = settings.embed_batch_size
    embed_images(embedder, prepared[:size])  # warm-up
    started = time.perf_counter()
    for i in range(0, len(prepared), size):
        embed_images(embedder, prepared[i:i + size])
    return len(prepared) / (time.perf_counter() - started)


# Local processes whose CPU time the profile reports, by a piece of their command line.
PROCESSES = {"streamparse_run": None, "org.apache.storm.daemon.worker.Worker": "storm worker (JVM)",
             "milvus run": "milvus", "SolrNode": "solr", "kafka.Kafka": "kafka"}


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by the local processes of the topology (per component class) and of the services."""
    import psutil

    used: dict[str, float] = {}
    for proc in psutil.process_iter(["cmdline", "cpu_times"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        for marker, name in PROCESSES.items():
            if marker in cmdline and proc.info["cpu_times"] is not None:
                name = name or cmdline.split()[-1].rsplit(".", 1)[-1]
                used[name] = used.get(name, 0.0) + proc.info["cpu_times"].user + proc.info["cpu_times"].system
                break
    return used


def wait_searchable(vectors, ids: list[str], timeout_s: float, poll_s: float = 0.2) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """When (time.time()) each id first became searchable; stops at `timeout_s`."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + timeout_s
    while len(seen) < len(ids) and time.monotonic() < deadline:
        pending = [i for i in ids if i not in seen]
        now = time.time()
        for start in range(0, len(pending), 500):
            seen.update({i: now for i in vectors.existing(pending[start:start + 500])})
        time.sleep(poll_s)
    return seen


def bench_ingest(settings: Settings, *, products: int = 100, catalog: Path | None = None,
                 progress: Console | None = None, timeout_s: float = 900.0) -> IngestBench:
    """Embedder alone, then the same images published to Kafka and polled in Milvus until searchable.

    The topology must run (`snapmode topology submit`); a first record warms it up (model loaded, stores open).
    """
    say = progress.print if progress else (lambda *a: None)
    if not topology_status(settings).running:
        raise TopologyNotReady(f"topology {settings.topology_name} is not running: "
                               "start it with `snapmode topology submit`")
    site = f"bench-{int(time.time())}"
    warm, *records = bench_records(settings, products, catalog, site)
    images = sum(len(r.image_urls) for r in records)
    say(f"embedder alone on {images} images ...")
    embedder_ips = measure_embedder(settings, records)
    say(f"  {embedder_ips:.1f} images/s")

    vectors = build_vector_store(settings, dim=embedder_dim(settings))
    producer = KafkaProducerQueue(settings)
    try:
        say("warming the topology up ...")
        publish(producer, settings.records_topic, [warm])
        wait_searchable(vectors, [ref.image_id for ref in warm.images()], timeout_s=300)
        before, cpu_before = topology_status(settings), cpu_seconds()
        say(f"publishing {len(records)} records ({images} images) ...")
        sent_at: dict[str, float] = {}
        publish(producer, settings.records_topic, records,
                on_sent=lambda chunk, at: sent_at.update({ref.image_id: at for r in chunk for ref in r.images()}))
        seen = wait_searchable(vectors, list(sent_at), timeout_s=timeout_s)
        after, cpu_after = topology_status(settings), cpu_seconds()
    finally:
        producer.close()
        vectors.close()
    if len(seen) < len(sent_at):
        say(f"[yellow]{len(sent_at) - len(seen)} images not searchable within {timeout_s:.0f} s")
    elapsed = max(seen.values()) - min(sent_at.values()) if seen else float("inf")
    cpu = {name: round(used - cpu_before.get(name, 0.0), 1) for name, used in cpu_after.items()}
    profile = {"storm_process_latency_ms": {name: round(stats.latency_ms, 1) for name, stats in after.components.items()
                                            if not name.startswith("__")},
               "cpu_s": dict(sorted(cpu.items(), key=lambda kv: -kv[1])),
               "wall_s": round(elapsed, 1)}
    return IngestBench(images=len(seen), embedder_ips=embedder_ips, pipeline_ips=len(seen) / elapsed,
                       freshness_s=[seen[i] - sent_at[i] for i in seen], profile=profile)
