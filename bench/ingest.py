"""`snapmode bench ingest`: the bare embedder's images/s against images/s from Kafka to searchable through Storm."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from snapmode.bench.ingest_load import Watch, offer_at_once, offer_at_rate, percentiles
from snapmode.bench.ingest_profile import BENCH_PROCESS, add_cpu, cpu_profile, cpu_seconds
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
IDLE_S = 5.0  # how long the topology's CPU is measured at rest, after its warm-up


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
    model_cpu_ms: list[float] = field(default_factory=list)  # the bare embedder's CPU ms per image, per pass
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

    @property
    def model_cpu_ms_per_image(self) -> float:
        """What the model alone costs an image (the bare embedder's CPU, every thread's); 0 without a model."""
        return float(np.median(self.model_cpu_ms)) if self.model_cpu_ms else 0.0

    @property
    def idle_cpu_ms_per_s(self) -> float:
        """CPU the topology and the cluster take per second while nothing flows: a cost per unit of time."""
        return self.pipeline_total("idle_cpu_ms_per_s")

    @property
    def cpu_ms_per_image(self) -> float:
        """CPU of the topology's processes and the cluster's services per image searchable, this process's left out:
        unlike images/s, it hardly depends on what else the machine runs."""
        return self.pipeline_total("cpu_ms_per_image")

    def pipeline_total(self, figure: str) -> float:
        """The sum over the components of a profile figure, the benchmark's own process left out."""
        return float(sum(v for name, v in self.profile.get(figure, {}).items() if name != BENCH_PROCESS))

    def as_dict(self) -> dict[str, Any]:
        p50, p99 = percentiles(self.freshness_s)
        embedder = np.asarray(self.embedder_runs or [0.0])
        figures: dict[str, Any] = {
            "images": self.images, "pipeline_images_per_s": round(self.pipeline_ips, 2),
            "cpu_ms_per_image_outside_model": round(self.cpu_ms_per_image - self.model_cpu_ms_per_image, 1),
            "cpu_ms_per_image": round(self.cpu_ms_per_image, 1),
            "model_cpu_ms_per_image": round(self.model_cpu_ms_per_image, 1),
            "idle_cpu_ms_per_s": round(self.idle_cpu_ms_per_s, 1),
            "pipeline_ips_runs": [round(r, 2) for r in self.pipeline_runs],
            "pipeline_ips_steady": round(float(np.median(self.steady_runs)), 2) if self.steady_runs else None,
            "embedder_ips": round(self.embedder_ips, 2),
            "embedder_ips_runs": [round(r, 2) for r in self.embedder_runs],
            "embedder_spread": round(float(np.ptp(embedder) / self.embedder_ips), 3) if self.embedder_ips else None,
            "ratio": round(self.ratio, 3), "ratio_runs": [round(r, 3) for r in self.ratios],
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
        done, started, cpu = 0, time.perf_counter(), time.process_time()  # the process's CPU: every model thread's
        while not done or time.perf_counter() - started < min_s:
            for i in range(0, len(prepared), size):
                embed_images(embedder, prepared[i:i + size])
            done += len(prepared)
        conn.send((done / (time.perf_counter() - started), 1000 * (time.process_time() - cpu) / done))


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

    def run(self, min_s: float = 5.0) -> tuple[float, float]:
        """(images/s, CPU ms per image) of passes over every image, for at least `min_s`."""
        self.conn.send(min_s)
        ips, cpu_ms = self.answer()
        return float(ips), float(cpu_ms)

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
    each between two passes of the bare embedder over the same photos (none for the null embedder). Load: as many
    records again (the same photos under another site), published one by one at the rate asked for. The topology must
    run (`snapmode topology submit`, or `null_topology`); a first record warms it up (model loaded, stores open).
    """
    say = progress.print if progress else (lambda *a: None)
    if not topology_status(settings).running:
        raise TopologyNotReady(f"topology {settings.topology_name} is not running: "
                               "start it with `snapmode topology submit`")
    site = f"bench-{int(time.time())}"
    warm, *records = bench_records(settings, products, catalog, site)
    images = sum(len(r.image_urls) for r in records)
    bare = None
    if settings.embedder != "null":
        say(f"bare embedder on {min(images, 320)} of the {images} images ...")
        bare = BareEmbedder(settings, records)
    vectors = build_vector_store(settings, dim=embedder_dim(settings))
    producer = KafkaProducerQueue(settings)
    topic = settings.records_topic
    result = IngestBench(images=images, embedder_runs=[], pipeline_runs=[])

    def bare_pass() -> None:
        if bare is not None:
            ips, cpu_ms = bare.run()
            result.embedder_runs.append(ips)
            result.model_cpu_ms.append(cpu_ms)
            say(f"  bare embedder {ips:.1f} images/s, {cpu_ms:.1f} ms of CPU an image")

    try:
        # the topology first: a worker still loading its model would slow the first bare pass
        say("warming the topology up ...")
        offer_at_once(producer, topic, Watch(vectors), [warm], timeout_s=300)
        result.profile["idle_cpu_ms_per_s"] = idle_cpu(settings)
        bare_pass()
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
            say(f"  pipeline {result.pipeline_runs[-1]:.1f} images/s")
            bare_pass()
        result.profile.update(cpu_profile(spent, len(result.freshness_s)))
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
        if bare is not None:
            bare.close()
        producer.close()
        vectors.close()
    return result


def idle_cpu(settings: Settings, seconds: float = IDLE_S) -> dict[str, float]:
    """CPU ms per second of each component while nothing is published, largest first."""
    spent: dict[str, float] = {}
    before = cpu_seconds(settings)
    time.sleep(seconds)
    add_cpu(spent, before, cpu_seconds(settings))
    return {name: round(1000 * used / seconds, 1) for name, used in sorted(spent.items(), key=lambda kv: -kv[1])}


NULL_SUFFIX = "bench-null"


def null_settings(settings: Settings) -> Settings:
    """`settings` with the null embedder, and a topology, topics, Milvus collection and Solr core of its own: its
    vectors never reach the configured index."""
    return settings.model_copy(update={
        "embedder": "null", "topology_name": f"{settings.topology_name}-{NULL_SUFFIX}",
        "records_topic": f"{settings.records_topic}.{NULL_SUFFIX}", "retry_topic": None,
        "dead_letter_topic": f"{settings.dead_letter_topic}.{NULL_SUFFIX}",
        "collection": f"{settings.collection}_{NULL_SUFFIX.replace('-', '_')}",
        "solr_url": f"{settings.solr_core_url.rstrip('/')}_{NULL_SUFFIX.replace('-', '_')}"})


@contextmanager
def null_topology(settings: Settings, say: Callable[[str], object] = lambda m: None) -> Iterator[Settings]:
    """The topology with the null embedder (`null_settings`), provisioned and submitted for the benchmark and killed
    after it; yields its settings."""
    from snapmode.infra.provision import Targets, provision
    from snapmode.topologies.deploy import submit
    from snapmode.topologies.handoff import handoff_dir
    from snapmode.topologies.nimbus import kill

    bench = null_settings(settings)
    if topology_status(settings).running:
        say(f"[yellow]topology {settings.topology_name} runs beside the benchmark: its idle executors count in the "
            "machine's load, not in the profile")
    for service, done in provision(Targets.from_settings(bench), ["kafka", "solr", "milvus"],
                                   embedder_dim(bench)).items():
        say(f"  {service:<7} {done}")
    say(f"submitting {bench.topology_name} (the null embedder) ...")
    submit(bench, settings.data_dir / f"topology-{NULL_SUFFIX}")
    try:
        yield bench
    finally:
        say(f"killing {bench.topology_name}")
        kill(bench, wait_s=0)
        shutil.rmtree(handoff_dir(bench), ignore_errors=True)
