"""`snapmode bench ingest`: the bare embedder's images/s against images/s from Kafka to searchable through Storm."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from snapmode.bench.ingest_load import Watch, offer_at_once, offer_at_rate, percentiles
from snapmode.bench.ingest_profile import add_cpu, cpu_profile, cpu_seconds
from snapmode.config import Settings
from snapmode.pipeline.fetch import under_roots
from snapmode.pipeline.options import decode_limits
from snapmode.pipeline.steps import Fetcher, FetchOptions, embed_images, prepare_image
from snapmode.platform import build_embedder, embedder_dim
from snapmode.queue.kafka import KafkaProducerQueue
from snapmode.records import ProductRecord
from snapmode.stores.factory import build_vector_store
from snapmode.topologies.nimbus import topology_status

BENCH_SEED = 11


class TopologyNotReady(RuntimeError):
    """The benchmark needs the ingestion topology running on the cluster and able to read its photos."""


@dataclass
class LoadRun:
    """Records offered at a fixed share of the measured capacity, and how fresh the index stayed."""

    load: float  # share of the pipeline's capacity
    offered_ips: float  # images/s asked for
    achieved_ips: float  # images/s the publisher kept to
    images: int
    freshness_s: list[float] = field(default_factory=list)  # publish -> searchable, per image

    def as_dict(self) -> dict[str, Any]:
        p50, p99 = percentiles(self.freshness_s)
        tag = f"load_{round(self.load * 100)}pct"
        return {f"{tag}_ips": round(self.achieved_ips, 2), f"{tag}_images": self.images,
                f"{tag}_searchable": len(self.freshness_s),
                f"{tag}_freshness_p50_s": round(p50, 2), f"{tag}_freshness_p99_s": round(p99, 2)}


@dataclass
class IngestBench:
    images: int  # per capacity round
    embedder_runs: list[float]  # bare embedder images/s: a pass before the first round and one after each
    pipeline_runs: list[float]  # images/s from Kafka to searchable, one per capacity round
    steady_runs: list[float] = field(default_factory=list)  # the same between 10 % and 90 % of the images found
    freshness_s: list[float] = field(default_factory=list)  # capacity rounds: publish -> searchable (the backlog)
    loads: list[LoadRun] = field(default_factory=list)
    profile: dict[str, Any] = field(default_factory=dict)  # per component: CPU seconds, process latency

    @property
    def embedder_ips(self) -> float:
        return float(np.median(self.embedder_runs)) if self.embedder_runs else 0.0

    @property
    def pipeline_ips(self) -> float:
        return float(np.median(self.pipeline_runs)) if self.pipeline_runs else 0.0

    @property
    def ratios(self) -> list[float]:
        """Each round's pipeline rate over the mean of the embedder passes just before and just after it."""
        return [p / ((self.embedder_runs[i] + self.embedder_runs[i + 1]) / 2)
                for i, p in enumerate(self.pipeline_runs) if i + 1 < len(self.embedder_runs)]

    @property
    def ratio(self) -> float:
        return float(np.median(self.ratios)) if self.ratios else 0.0

    def as_dict(self) -> dict[str, Any]:
        p50, p99 = percentiles(self.freshness_s)
        embedder = np.asarray(self.embedder_runs or [0.0])
        figures: dict[str, Any] = {
            "images": self.images, "embedder_ips": round(self.embedder_ips, 2),
            "embedder_ips_runs": [round(r, 2) for r in self.embedder_runs],
            "embedder_spread": round(float(np.ptp(embedder) / self.embedder_ips), 3) if self.embedder_ips else None,
            "pipeline_ips": round(self.pipeline_ips, 2), "pipeline_ips_runs": [round(r, 2) for r in self.pipeline_runs],
            "ratio": round(self.ratio, 3), "ratio_runs": [round(r, 3) for r in self.ratios],
            "pipeline_ips_steady": round(float(np.median(self.steady_runs)), 2) if self.steady_runs else None,
            "freshness_p50_s": round(p50, 2), "freshness_p99_s": round(p99, 2)}
        for run in self.loads:
            figures.update(run.as_dict())
        return {**figures, "profile": self.profile}


def bench_records(settings: Settings, products: int, catalog: Path | None, site: str) -> list[ProductRecord]:
    """`products` records of the given catalog (or of a generated one), under a fresh `site` so nothing is indexed."""
    from snapmode.datasets.catalog.generate import generate_catalog
    from snapmode.pipeline.manifest import MANIFEST, catalog_records

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


def _embedder_process(shared: dict[str, Any], records: list[str], most: int, conn: Any) -> None:
    """Child process: loads the model and the images once, then answers each request with one pass's images/s."""
    settings = Settings.from_shared(shared)
    limits = decode_limits(settings)
    parsed = [ProductRecord.from_json(r) for r in records]
    refs = [(r, ref) for r in parsed for ref in r.images()][:most]
    with Fetcher(FetchOptions(timeout_s=settings.fetch_timeout_s, allow_private=True, allow_files=True)) as fetcher:
        prepared = [prepare_image(r, ref, limits, fetcher) for r, ref in refs]
    embedder, size = build_embedder(settings), settings.embed_batch_size
    embed_images(embedder, prepared[:size])  # warm-up
    conn.send(len(prepared))
    while (min_s := conn.recv()) is not None:
        done, started = 0, time.perf_counter()
        while not done or time.perf_counter() - started < min_s:
            for i in range(0, len(prepared), size):
                embed_images(embedder, prepared[i:i + size])
            done += len(prepared)
        conn.send(done / (time.perf_counter() - started))


class BareEmbedder:
    """The model alone on the benchmark's images (the first `most` of them), decoded beforehand: one batched forward
    pass after another, in a process of its own as the embed bolt is (apart from this process's client threads)."""

    def __init__(self, settings: Settings, records: list[ProductRecord], most: int = 320) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_embedder_process, daemon=True,
                                       args=(settings.shareable(), [r.to_json() for r in records], most, child))
        self.process.start()
        self.images = self.answer()

    def answer(self, timeout_s: float = 600.0) -> Any:
        if not self.conn.poll(timeout_s):
            raise RuntimeError(f"the bare embedder's process did not answer within {timeout_s:.0f} s "
                               f"(exit code {self.process.exitcode})")
        return self.conn.recv()

    def run(self, min_s: float = 5.0) -> float:
        """Images/s of passes over every image, for at least `min_s`."""
        self.conn.send(min_s)
        return float(self.answer())

    def close(self) -> None:
        self.conn.send(None)
        self.process.join(timeout=10)


def tracker(progress: Console | None, label: str, total: int) -> tuple[Callable[[int], None], Callable[[], None]]:
    """(on_poll, close) of a progress bar of images found searchable; no-ops without a console."""
    if progress is None:
        return (lambda n: None), (lambda: None)
    bar = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=progress,
                   transient=True)
    task = bar.add_task(label, total=total)
    bar.start()
    return (lambda n: bar.update(task, completed=n)), bar.stop


def bench_ingest(settings: Settings, *, products: int = 100, catalog: Path | None = None, rounds: int = 2,
                 loads: Sequence[float] = (0.5, 0.8), progress: Console | None = None,
                 timeout_s: float = 900.0) -> IngestBench:
    """The bare embedder and the pipeline's capacity in turns, then freshness at each of `loads` x that capacity.

    Capacity: `products` records published at once, polled in Milvus until every image is searchable; `rounds` of it,
    each between two passes of the bare embedder over the same photos. Load: as many records again (the same photos
    under another site), published one by one at the rate asked for. The topology must run
    (`snapmode topology submit`); a first record warms it up (model loaded, stores open).
    """
    say = progress.print if progress else (lambda *a: None)
    if not topology_status(settings).running:
        raise TopologyNotReady(f"topology {settings.topology_name} is not running: "
                               "start it with `snapmode topology submit`")
    site = f"bench-{int(time.time())}"
    warm, *records = bench_records(settings, products, catalog, site)
    images = sum(len(r.image_urls) for r in records)
    say(f"bare embedder on {min(images, 320)} of the {images} images ...")
    bare = BareEmbedder(settings, records)
    vectors = build_vector_store(settings, dim=embedder_dim(settings))
    producer = KafkaProducerQueue(settings)
    topic = settings.records_topic
    try:
        # the topology first: a worker still loading its model would slow the first bare pass
        say("warming the topology up ...")
        warm_up = Watch(vectors)
        offer_at_once(producer, topic, warm_up, [warm], timeout_s=300)
        result = IngestBench(images=images, embedder_runs=[bare.run()], pipeline_runs=[])
        say(f"  bare embedder {result.embedder_runs[-1]:.1f} images/s")
        spent: dict[str, float] = {}  # CPU seconds per component while the capacity rounds ran
        for n in range(rounds):
            batch = records if n == 0 else bench_records(settings, products, catalog, f"{site}-r{n}")[1:]
            watch = Watch(vectors)
            on_poll, close = tracker(progress, f"capacity round {n + 1}/{rounds}: {len(batch)} records at once", images)
            cpu_before = cpu_seconds(settings)
            try:
                offer_at_once(producer, topic, watch, batch, timeout_s=timeout_s, on_poll=on_poll)
            finally:
                close()
            add_cpu(spent, cpu_before, cpu_seconds(settings))
            if not watch.done:
                say(f"[yellow]{len(watch.sent_at) - len(watch.seen_at)} images not searchable within {timeout_s:.0f} s")
            result.pipeline_runs.append(watch.images_per_s())
            result.steady_runs.append(watch.steady_images_per_s())
            result.freshness_s += watch.freshness_s()
            say(f"  pipeline {result.pipeline_runs[-1]:.1f} images/s; bare embedder again ...")
            result.embedder_runs.append(bare.run())
            say(f"  {result.embedder_runs[-1]:.1f} images/s")
        result.profile = cpu_profile(spent, len(result.freshness_s))
        status = topology_status(settings)
        result.profile["storm_process_latency_ms"] = {name: round(stats.latency_ms, 1)
                                                      for name, stats in status.components.items()
                                                      if not name.startswith("__")}
        for load in loads:
            rate = load * result.pipeline_ips
            batch = bench_records(settings, products, catalog, f"{site}-load{round(load * 100)}")[1:]
            watch = Watch(vectors)
            on_poll, close = tracker(progress, f"{load:.0%} load: {rate:.1f} images/s", images)
            try:
                achieved = offer_at_rate(producer, topic, watch, batch, rate, timeout_s=120, on_poll=on_poll)
            finally:
                close()
            result.loads.append(LoadRun(load=load, offered_ips=rate, achieved_ips=achieved, images=images,
                                        freshness_s=watch.freshness_s()))
            p50, p99 = percentiles(watch.freshness_s())
            say(f"  {load:.0%} load ({achieved:.1f} images/s): freshness p50 {p50:.2f} s, p99 {p99:.2f} s")
    finally:
        bare.close()
        producer.close()
        vectors.close()
    return result
