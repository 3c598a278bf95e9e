"""Measure the query path: the in-process floor (decode + embed + vector search + metadata join, no HTTP) beside
`POST /search` over HTTP against a `snapmode serve` started for the run, at 1 and C clients, on a store filled to N
vectors (the sample catalog's real embeddings plus synthetic ones, snapmode/synthetic.py).

Each product's last photo is held out of the index and is a query photo; the served API runs without its result
cache, so every request embeds and searches.
"""

from __future__ import annotations

import http.client
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import numpy as np

from snapmode.bench.recall import ExactNearest, recall_at
from snapmode.bench.serve import (ServedApi, own_cpu_s, serve_process, start_milvus_server, tree_cpu_s, tree_rss_mb,
                                  wait_settled)
from snapmode.bench.synthetic import SyntheticSource, synthetic_batches
from snapmode.config import Settings
from snapmode.datasets.catalog.generate import GenerateOptions, generate_catalog
from snapmode.infra.ports import free_port
from snapmode.logs import get_logger
from snapmode.pipeline.decode import decode_image
from snapmode.pipeline.manifest import load_catalog, to_record
from snapmode.platform import Platform
from snapmode.search.service import SearchService
from snapmode.stores.vector_index import VectorIndex

log = get_logger(__name__)

SITE = "sample-shop"
COLLECTION = "bench_query"
FILL_BATCH = 1000  # synthetic vectors per upsert (5 MB of 1280-d float32)
WARMUP = 5  # queries before each measured phase, not counted
RECALL_K = 10
StoreKind = Literal["lite", "server"]
Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass(frozen=True)
class Latency:
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    qps: float

    @classmethod
    def of(cls, seconds: Sequence[float], wall_s: float, errors: int = 0) -> Latency:
        ms = np.asarray(seconds, dtype=np.float64) * 1000
        return cls(requests=len(ms), errors=errors, p50_ms=round(float(np.percentile(ms, 50)), 2),
                   p99_ms=round(float(np.percentile(ms, 99)), 2), qps=round(len(ms) / wall_s, 1))


@dataclass
class FillReport:
    real: int
    synthetic: int
    embed_s: float  # the real images: decode + embed + write
    insert_s: float  # the synthetic vectors and their metadata rows
    index_s: float  # from the last insert to an index over every row, loaded
    index: dict[str, object]


@dataclass
class QueryReport:
    store: StoreKind
    vectors: int
    dim: int
    clients: int
    k: int
    fill: FillReport
    memory_mb: dict[str, float]
    load_avg: dict[str, list[float]]  # 1, 5, 15 min at the start and end of the measurement
    floor: Latency
    recall_at_10: float  # of the vector index: its 10 nearest images of each query photo against exact search
    index: dict[str, object]  # the index's type, build and search parameters
    api: dict[str, dict[str, Latency]] = field(default_factory=dict)  # variant -> "1" / "C" -> figures
    mean_batch: dict[str, float] = field(default_factory=dict)  # variant -> queries per forward pass at C clients
    cpu_ms_per_query: dict[str, dict[str, float]] = field(default_factory=dict)  # variant -> process -> CPU ms, C clients
    settled_s: dict[str, float] = field(default_factory=dict)  # variant -> wait for the stores' background work

    def ratios(self) -> dict[str, dict[str, float]]:
        """p50 of each API figure over the floor's p50."""
        return {name: {c: round(lat.p50_ms / self.floor.p50_ms, 2) for c, lat in runs.items()}
                for name, runs in self.api.items()}

    def goals(self) -> dict[str, dict[str, bool]]:
        """The targets: one client p50 <= 1.3 x floor; C clients p99 <= 2 x their p50 and QPS >= 1000 / floor p50."""
        out = {}
        for name, runs in self.api.items():
            one, many = runs["1"], runs[str(self.clients)]
            out[name] = {"one_client_p50_le_1.3x_floor": one.p50_ms <= 1.3 * self.floor.p50_ms,
                         "c_clients_p99_le_2x_p50": many.p99_ms <= 2 * many.p50_ms,
                         "c_clients_qps_ge_floor_rate": many.qps >= 1000 / self.floor.p50_ms}
        return out

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["ratio_to_floor"] = self.ratios()
        out["goals"] = self.goals()
        return out


def bench_query(settings: Settings, *, vectors: int = 10_000, clients: int = 8, store: StoreKind = "lite",
                queries: int = 200, products: int = 300, views: int = 4, seed: int = 7, k: int = 10,
                variants: Sequence[tuple[str, dict[str, str]]] = (("api", {}),),
                progress: Progress = lambda phase, done, total: None) -> QueryReport:
    """Fill a temporary store to `vectors`, then measure the floor and the API (once per variant: a name and the
    extra SNAPMODE_* environment of its server, e.g. batching off) at 1 and `clients` clients."""
    if views < 2:
        raise ValueError("each product needs at least 2 views: the last one is held out as a query photo")
    load_start = list(os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="snapmode-query-") as tmp, \
            _vector_store(store, Path(tmp), settings) as (local, store_pid):
        root = Path(tmp) / "catalog"
        generate_catalog(root, options=GenerateOptions(products=products, views=views, seed=seed))
        catalog = load_catalog(root)
        photos = [(root / p.images[-1]).read_bytes() for p in catalog]
        platform = Platform.build(local)
        try:
            exact = ExactNearest(query_vectors(platform, photos), k=RECALL_K)
            fill = fill_store(platform, [to_record(p.model_copy(update={"images": p.images[:-1]}), root, SITE)
                                         for p in catalog], vectors, progress, seed=seed, exact=exact)
        finally:
            platform.close()  # milvus-lite: the served API opens the engine next
        floor_s: list[float] = []
        api: dict[str, dict[str, Latency]] = {}
        memory: dict[str, float] = {}
        mean_batch: dict[str, float] = {}
        cpu: dict[str, dict[str, float]] = {}
        recall: list[float] = []
        settled: dict[str, float] = {}
        for name, env in variants:
            with serve_process(local, free_port(), Path(tmp) / f"serve-{name}.log", env=env,
                               searches=max(8, clients)) as served, \
                    _floor_search(local, platform) as floor_search:
                settled[name] = wait_settled([served.pid, store_pid()])
                if not recall:
                    found = floor_search.vectors.search(exact.queries, RECALL_K)
                    recall.append(recall_at([[h.image_id for h in hits] for hits in found], exact.nearest()))
                floor, one = measure_paired(served, floor_search, photos, queries, k, progress)
                floor_s += floor
                api[name] = {"1": one}
                if clients > 1:
                    before, used = batches(served), _cpu_s(served.pid, store_pid())
                    api[name][str(clients)] = measure_http(served, photos, clients, queries, k, progress)
                    after, answered = batches(served), api[name][str(clients)].requests
                    cpu[name] = {process: round(1000 * (s - used[process]) / max(answered, 1), 1)
                                 for process, s in _cpu_s(served.pid, store_pid()).items()}
                    if after[1] > before[1]:
                        mean_batch[name] = round((after[0] - before[0]) / (after[1] - before[1]), 2)
                memory[f"{name}_process"] = served.rss_mb()
        if store == "server":
            memory["milvus_server"] = tree_rss_mb(store_pid() or 0)  # else milvus-lite is a child of the API process
        index = VectorIndex.from_settings(local).for_engine(lite=store == "lite")
        return QueryReport(store=store, vectors=vectors, dim=platform.embedder.dim, clients=clients, k=k, fill=fill,
                           memory_mb=memory, floor=Latency.of(floor_s, sum(floor_s)),
                           recall_at_10=round(recall[0], 4), api=api,
                           index={"type": index.type, "build": index.build_params(),
                                  "search": index.search_params(index.type, k * local.search_oversample)["params"],
                                  "oversample": local.search_oversample},
                           mean_batch=mean_batch, cpu_ms_per_query=cpu, settled_s=settled,
                           load_avg={"start": [round(x, 2) for x in load_start],
                                     "end": [round(x, 2) for x in os.getloadavg()]})


@contextmanager
def _vector_store(kind: StoreKind, tmp: Path, settings: Settings) -> Iterator[tuple[Settings, Callable[[], int | None]]]:
    """Settings for a temporary data dir (embedded metadata, no cache) and the vector store `kind`: milvus-lite in
    the data dir, or a Milvus server (SNAPMODE_MILVUS_URI, else a native one started here); and the PID of a server
    started here (None otherwise: milvus-lite's engine is a child of the API process, counted with it)."""
    local = settings.model_copy(update={"data_dir": tmp / "data", "solr_url": None, "redis_url": None,
                                        "collection": COLLECTION, "cache_ttl_s": 0, "milvus_uri": None})
    if kind == "lite":
        yield local, lambda: None
    elif settings.milvus_uri:
        from pymilvus import MilvusClient

        client = MilvusClient(uri=settings.milvus_uri)
        client.drop_collection(COLLECTION)  # a previous run's vectors would count towards N
        client.close()
        yield local.model_copy(update={"milvus_uri": settings.milvus_uri}), lambda: None
    else:
        with start_milvus_server(local, tmp / "cluster") as (uri, pid):
            yield local.model_copy(update={"milvus_uri": uri}), pid


def _cpu_s(api_pid: int, store_pid: int | None) -> dict[str, float]:
    """CPU seconds used so far by the API server, the Milvus server (when one runs apart) and this process, whose
    threads are the HTTP clients while they run."""
    used = {"api": tree_cpu_s(api_pid), "clients": own_cpu_s()}
    if store_pid is not None:
        used["milvus"] = tree_cpu_s(store_pid)
    return used


def query_vectors(platform: Platform, photos: Sequence[bytes]) -> np.ndarray:
    """The embeddings of the query photos, as the search embeds them."""
    images = [decode_image(data, platform.limits) for data in photos]
    size = platform.settings.embed_batch_size
    return np.concatenate([platform.embedder.embed(images[i:i + size]) for i in range(0, len(images), size)])


def fill_store(platform: Platform, records: Sequence, target: int, progress: Progress, *, seed: int = 0,
               exact: ExactNearest | None = None) -> FillReport:
    """Index `records` (real photos), then add synthetic products until the store holds `target` vectors; `exact`
    learns every vector stored."""
    vectors, metadata = platform.vectors, platform.metadata
    flush = getattr(vectors, "flush_writes", None)
    if flush is not None:
        vectors.flush_writes = False  # type: ignore[attr-defined]  # one flush at the end, not one per batch
    started = time.perf_counter()
    real_ids = [ref.image_id for r in records for ref in r.images()]
    embedded = 0

    def on_image(n: int) -> None:
        nonlocal embedded
        embedded += n
        progress("embed real", embedded, len(real_ids))

    platform.runner().run(records, on_image=on_image)
    real = platform.vectors.fetch(real_ids)
    if exact is not None:
        exact.add(list(real), np.stack(list(real.values())))
    embed_s = time.perf_counter() - started
    count = len(real)
    missing = max(0, target - count)
    source = SyntheticSource.of(np.stack(list(real.values())), records)
    started = time.perf_counter()
    done = 0
    progress("fill", done, missing)
    for batch_records, items in synthetic_batches(missing, source, batch=FILL_BATCH, seed=seed):
        metadata.upsert(batch_records)
        vectors.insert(items)  # the synthetic ids are new: no deletions for Milvus to compact away
        if exact is not None:
            exact.add([i.image_id for i in items], np.stack([i.vector for i in items]))
        done += len(items)
        progress("fill", done, missing)
    insert_s = time.perf_counter() - started
    started = time.perf_counter()
    index = _wait_for_index(vectors, count + missing)
    if flush is not None:
        vectors.flush_writes = flush  # type: ignore[attr-defined]
    return FillReport(real=count, synthetic=missing, embed_s=round(embed_s, 1), insert_s=round(insert_s, 1),
                      index_s=round(time.perf_counter() - started, 1), index=index)


def _wait_for_index(vectors: object, rows: int, timeout_s: float = 3600.0) -> dict[str, object]:
    """Flush, wait until the vector index covers `rows`, reload; the index's type and parameters."""
    client, collection = getattr(vectors, "client", None), getattr(vectors, "collection", None)
    if client is None:
        return {}
    client.flush(collection)
    deadline = time.monotonic() + timeout_s
    info: dict[str, object] = {}
    while time.monotonic() < deadline:
        info = client.describe_index(collection, index_name="vector") or {}
        indexed = info.get("indexed_rows")
        if indexed is None or int(indexed) >= rows or info.get("state") == "Finished" and not info.get("pending_index_rows"):
            break
        time.sleep(0.5)
    client.load_collection(collection)
    return {key: info[key] for key in ("index_type", "metric_type", "M", "efConstruction", "indexed_rows")
            if key in info}


@contextmanager
def _floor_search(settings: Settings, platform: Platform) -> Iterator[SearchService]:
    """A search service in this process on the served store (attached to a served milvus-lite, not opened)."""
    from snapmode.stores.factory import build_stores

    vectors, metadata = build_stores(settings, platform.embedder.dim)
    try:
        yield SearchService(platform.embedder, vectors, metadata, platform.limits,
                            oversample=settings.search_oversample, hybrid_depth=settings.hybrid_depth,
                            rrf_k=settings.rrf_k)
    finally:
        vectors.close()
        metadata.close()


def measure_paired(api: ServedApi, search: SearchService, photos: Sequence[bytes], requests: int, k: int,
                   progress: Progress) -> tuple[list[float], Latency]:
    """The floor (`search_image` in this process) and one HTTP client, query by query in turn, so that both see the
    same load from the rest of the machine: the floor's seconds and the client's figures."""
    uploads = Uploads(api.base, photos, k)
    floor, seconds = [], []
    with uploads.connection() as client:
        for i in range(WARMUP):
            search.search_image(photos[i % len(photos)], k)
            client.post(i)
        errors = 0
        started = time.perf_counter()
        for i in range(requests):
            t = time.perf_counter()
            search.search_image(photos[i % len(photos)], k)
            floor.append(time.perf_counter() - t)
            t = time.perf_counter()
            errors += not client.post(i)
            seconds.append(time.perf_counter() - t)
            progress("floor + api", i + 1, requests)
    return floor, Latency.of(seconds, time.perf_counter() - started - sum(floor), errors)


def batches(api: ServedApi) -> tuple[float, float]:
    """(queries, forward passes) the server's query batcher has answered so far, from its /metrics."""
    import httpx

    values = {}
    for line in httpx.get(f"{api.base}/metrics", timeout=30).text.splitlines():
        name, _, value = line.partition(" ")
        if name in ("snapmode_query_batch_size_sum", "snapmode_query_batch_size_count"):
            values[name] = float(value)
    return values.get("snapmode_query_batch_size_sum", 0.0), values.get("snapmode_query_batch_size_count", 0.0)


class Uploads:
    """`POST /search` of each photo, its multipart body built once: the clients share the machine with the server, so
    a request costs them no more than sending the bytes and reading the answer (httpx spent about 10 ms of CPU on
    each, a fifth of the server's own)."""

    BOUNDARY = "snapmode-bench-boundary"

    def __init__(self, base: str, photos: Sequence[bytes], k: int) -> None:
        url = urlsplit(base)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.bodies = [self._body(data, k) for data in photos]
        self.headers = {"Content-Type": f"multipart/form-data; boundary={self.BOUNDARY}"}

    def _body(self, data: bytes, k: int) -> bytes:
        b = self.BOUNDARY
        return (f'--{b}\r\nContent-Disposition: form-data; name="k"\r\n\r\n{k}\r\n'
                f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="query.jpg"\r\n'
                "Content-Type: image/jpeg\r\n\r\n").encode() + data + f"\r\n--{b}--\r\n".encode()

    @contextmanager
    def connection(self) -> Iterator[_Client]:
        client = _Client(self)
        try:
            yield client
        finally:
            client.close()


class _Client:
    """One kept-alive connection; the i-th request sends photo i (cycling)."""

    def __init__(self, uploads: Uploads) -> None:
        self.uploads = uploads
        self.conn = http.client.HTTPConnection(uploads.host, uploads.port, timeout=120)

    def post(self, i: int) -> bool:
        bodies = self.uploads.bodies
        try:
            self.conn.request("POST", "/search", body=bodies[i % len(bodies)], headers=self.uploads.headers)
            response = self.conn.getresponse()
            response.read()
            return response.status == 200
        except (OSError, http.client.HTTPException):
            self.conn.close()  # reconnects on the next request
            return False

    def close(self) -> None:
        self.conn.close()


def measure_http(api: ServedApi, photos: Sequence[bytes], clients: int, requests: int, k: int,
                 progress: Progress) -> Latency:
    """`requests` uploads to POST /search from `clients` threads at once, each photo in turn."""
    uploads = Uploads(api.base, photos, k)
    with uploads.connection() as client:
        for i in range(WARMUP):
            client.post(i)
    requests = max(requests, clients * WARMUP)
    seconds: list[float] = []
    errors = 0

    def worker(index: int) -> None:
        nonlocal errors
        with uploads.connection() as client:
            for i in range(index, requests, clients):
                t = time.perf_counter()
                ok = client.post(i)
                seconds.append(time.perf_counter() - t)
                errors += not ok
                progress(f"api x{clients}", len(seconds), requests)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(worker, range(clients)))
    return Latency.of(seconds, time.perf_counter() - started, errors)
