"""The in-process runner: records -> prepared images (thread pool) -> embedded batches -> both stores."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from snapmode.interfaces import Embedder, MetadataStore, VectorStore
from snapmode.logs import get_logger
from snapmode.pipeline.deadletter import DeadLetterSink
from snapmode.pipeline.decode import DecodeLimits
from snapmode.pipeline.fetch import Fetcher
from snapmode.pipeline.steps import (FetchOptions, PreparedImage, Rejection, embed_images, prepare_or_reject,
                                     write_batch, write_metadata)
from snapmode.records import ImageRef, ProductRecord

log = get_logger(__name__)


@dataclass
class IngestReport:
    records: int = 0
    images_indexed: int = 0
    images_skipped: int = 0  # already in the vector store, with `skip_indexed`
    rejected: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def images_rejected(self) -> int:
        return sum(self.rejected.values())

    @property
    def images_per_s(self) -> float:
        return self.images_indexed / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, object]:
        return {"records": self.records, "images_indexed": self.images_indexed, "images_skipped": self.images_skipped,
                "images_rejected": self.images_rejected, "rejected_by_reason": dict(self.rejected),
                "seconds": round(self.seconds, 3), "images_per_s": round(self.images_per_s, 2)}


class IngestRunner:
    """Indexes product records in this process, with the same steps the Storm bolts run."""

    def __init__(self, *, embedder: Embedder, vectors: VectorStore, metadata: MetadataStore,
                 limits: DecodeLimits, fetch: FetchOptions, dead_letter: DeadLetterSink,
                 batch_size: int = 32, workers: int = 4, skip_indexed: bool = False) -> None:
        self.embedder = embedder
        self.vectors = vectors
        self.metadata = metadata
        self.limits = limits
        self.fetch = fetch
        self.dead_letter = dead_letter
        self.batch_size = batch_size
        self.workers = workers
        self.skip_indexed = skip_indexed

    def run(self, records: Iterable[ProductRecord | Rejection],
            on_image: Callable[[int], None] | None = None) -> IngestReport:
        """Index every record; `Rejection`s in the input (unparsable records) go straight to the dead letters.

        `on_image(n)` is called as images are indexed or rejected, for progress bars.
        """
        report = IngestReport()
        started = time.perf_counter()
        tick = on_image or (lambda n: None)
        with Fetcher(self.fetch) as fetcher, \
                ThreadPoolExecutor(self.workers, thread_name_prefix="prepare") as pool:
            batch: list[PreparedImage] = []
            unchanged: list[ProductRecord] = []  # every image already indexed: refresh the metadata only
            for outcome in self._prepared(records, pool, fetcher, report):
                if isinstance(outcome, ProductRecord):
                    unchanged.append(outcome)
                    tick(len(outcome.image_urls))
                    continue
                if isinstance(outcome, Rejection):
                    self._reject(outcome, report)
                    tick(1)
                    continue
                batch.append(outcome)
                if len(batch) >= self.batch_size:
                    self._flush(batch, report)
                    tick(len(batch))
                    batch = []
            self._flush(batch, report)
            tick(len(batch))
            write_metadata(self.metadata, unchanged)
        report.seconds = time.perf_counter() - started
        log.info("ingest.done", **report.as_dict())
        return report

    def _prepared(self, records: Iterable[ProductRecord | Rejection], pool: ThreadPoolExecutor,
                  fetcher: Fetcher, report: IngestReport) -> Iterator[PreparedImage | Rejection | ProductRecord]:
        """Prepare images on the pool, keeping a bounded window of work in flight, in input order.

        With `skip_indexed`, a record whose images are all indexed comes back as itself, unprepared.
        """
        window = max(self.batch_size, self.workers) * 2
        pending: deque[Future[PreparedImage | Rejection]] = deque()
        for item in records:
            if isinstance(item, Rejection):
                yield item
                continue
            report.records += 1
            refs = item.images()
            if self.skip_indexed:
                known = self.vectors.existing([r.image_id for r in refs])
                report.images_skipped += len(known)
                refs = [r for r in refs if r.image_id not in known]
                if not refs:
                    yield item
                    continue
            for ref in refs:
                pending.append(pool.submit(self._prepare_one, item, ref, fetcher))
                while len(pending) >= window:
                    yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def _prepare_one(self, record: ProductRecord, ref: ImageRef, fetcher: Fetcher) -> PreparedImage | Rejection:
        return prepare_or_reject(record, ref, self.limits, fetcher)

    def _flush(self, batch: list[PreparedImage], report: IngestReport) -> None:
        if not batch:
            return
        items = embed_images(self.embedder, batch)
        write_batch(self.vectors, self.metadata, [p.record for p in batch], items)
        report.images_indexed += len(items)

    def _reject(self, rejection: Rejection, report: IngestReport) -> None:
        report.rejected[rejection.reason] += 1
        self.dead_letter.send(rejection)
        log.warning("ingest.rejected", reason=rejection.reason, detail=rejection.detail[:300],
                    product=rejection.product_key, url=rejection.url)
