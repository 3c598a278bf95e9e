"""The in-process runner: records -> prepared images (thread pool) -> embedded batches -> both stores; tombstones
delete, in the order they come."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from snapmode.interfaces import Embedder, MetadataStore, VectorItem, VectorStore
from snapmode.logs import get_logger
from snapmode.pipeline.decode import DecodeLimits
from snapmode.pipeline.fetch import Fetcher
from snapmode.pipeline.options import decode_limits, fetch_options
from snapmode.pipeline.steps import (FetchOptions, PreparedImage, Rejection, delete_products, embed_images, newest,
                                     prepare_or_reject, write_batch, write_isolated)
from snapmode.queue.deadletters import DeadLetterSink, JsonlDeadLetter, dead_letter_file
from snapmode.records import ImageRef, ProductRecord, Tombstone, Versioned
from snapmode.retries import Backoff, retry_transient

if TYPE_CHECKING:
    from snapmode.config import Settings

log = get_logger(__name__)
T = TypeVar("T")


@dataclass
class IngestReport:
    records: int = 0
    images_indexed: int = 0
    images_skipped: int = 0  # already in the vector store, with `skip_indexed`
    deleted: int = 0  # products removed by tombstones
    rejected: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def images_rejected(self) -> int:
        return sum(self.rejected.values())

    @property
    def images_per_s(self) -> float:
        return self.images_indexed / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, object]:
        return {"records": self.records, "deleted": self.deleted, "images_indexed": self.images_indexed, "images_skipped": self.images_skipped,
                "images_rejected": self.images_rejected, "rejected_by_reason": dict(self.rejected),
                "seconds": round(self.seconds, 3), "images_per_s": round(self.images_per_s, 2)}


class IngestRunner:
    """Indexes product records in this process, with the same steps the Storm bolts run."""

    def __init__(self, *, embedder: Embedder, vectors: VectorStore, metadata: MetadataStore,
                 limits: DecodeLimits, fetch: FetchOptions, dead_letter: DeadLetterSink,
                 batch_size: int = 32, workers: int = 4, skip_indexed: bool = False,
                 backoff: Backoff = Backoff(), duplicate_similarity: float = 0.0) -> None:
        self.embedder = embedder
        self.vectors = vectors
        self.metadata = metadata
        self.limits = limits
        self.fetch = fetch
        self.dead_letter = dead_letter
        self.batch_size = batch_size
        self.workers = workers
        self.skip_indexed = skip_indexed
        self.backoff = backoff  # a store away is waited for this long per write, then the run stops with its error
        self.duplicate_similarity = duplicate_similarity  # near-duplicates marked at ingestion (`find_duplicates`)

    @classmethod
    def from_settings(cls, settings: Settings, *, embedder: Embedder, vectors: VectorStore, metadata: MetadataStore,
                      skip_indexed: bool = False, allow_files: bool = True) -> IngestRunner:
        """A runner as the settings configure it; `allow_files` reads file:// images, as `snapmode ingest PATH` does
        for the user's own folders and catalogs. Pass False for records that came from anywhere else (a crawl, a
        queue)."""
        s = settings
        return cls(embedder=embedder, vectors=vectors, metadata=metadata, limits=decode_limits(s),
                   fetch=fetch_options(s, allow_files=allow_files), dead_letter=JsonlDeadLetter(dead_letter_file(s)),
                   batch_size=s.embed_batch_size, workers=s.fetch_workers, skip_indexed=skip_indexed,
                   backoff=Backoff.from_settings(s), duplicate_similarity=s.duplicate_similarity)

    def run(self, records: Iterable[Versioned | Rejection],
            on_image: Callable[[int], None] | None = None) -> IngestReport:
        """Index every record and apply every tombstone, in input order; `Rejection`s in the input (unparsable
        records) go straight to the dead letters. A record older than the stored version of its product changes
        nothing; a row that a store refuses is dead-lettered with the store's reason.

        `on_image(n)` is called as images are indexed or rejected (and once per tombstone), for progress bars.
        """
        report = IngestReport()
        started = time.perf_counter()
        tick = on_image or (lambda n: None)
        with Fetcher(self.fetch) as fetcher, \
                ThreadPoolExecutor(self.workers, thread_name_prefix="prepare") as pool:
            batch: list[PreparedImage] = []
            unchanged: list[ProductRecord] = []  # every image already indexed: refresh the metadata only
            for outcome in self._prepared(records, pool, fetcher, report):
                if isinstance(outcome, Tombstone):  # everything before it is written first
                    self._flush(batch, report)
                    tick(len(batch))
                    batch = []
                    self._write(unchanged, [], report)
                    unchanged = []
                    report.deleted += len(self._retrying(
                        lambda: delete_products(self.vectors, self.metadata, [outcome])))
                    tick(1)
                    continue
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
            self._write(unchanged, [], report)
        report.seconds = time.perf_counter() - started
        log.info("ingest.done", **report.as_dict())
        return report

    def _prepared(self, records: Iterable[Versioned | Rejection], pool: ThreadPoolExecutor, fetcher: Fetcher,
                  report: IngestReport) -> Iterator[PreparedImage | Rejection | Versioned]:
        """Prepare images on the pool, keeping a bounded window of work in flight, in input order.

        With `skip_indexed`, a record whose images are all indexed comes back as itself, unprepared (its stored
        images are re-tagged when it is written). A tombstone comes back after everything before it.
        """
        window = max(self.batch_size, self.workers) * 2
        pending: deque[Future[PreparedImage | Rejection]] = deque()
        for item in records:
            if isinstance(item, Rejection):
                yield item
                continue
            if isinstance(item, Tombstone):
                while pending:
                    yield pending.popleft().result()
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
        refused = self._write([p.record for p in batch], items, report)
        report.images_indexed += sum(1 for i in items if i.product_key not in refused)

    def _write(self, records: list[ProductRecord], items: list[VectorItem], report: IngestReport) -> set[str]:
        """Both stores, one product at a time when a store refuses the batch; returns the refused product keys."""
        if not records:
            return set()

        def write(keys: list[str]) -> None:
            chosen = set(keys)
            self.write_stores([r for r in records if r.key in chosen], [i for i in items if i.product_key in chosen])

        refused = write_isolated(write, sorted({r.key for r in records}), row_id=str, backoff=self.backoff,
                                 on_retry=self._on_retry)
        latest = {r.key: r for r in newest(records)}
        for key, reason in refused.items():
            self._reject(Rejection.of_refusal(reason, product_key=key, payload=latest[key].to_json()), report)
        return set(refused)

    def write_stores(self, records: list[ProductRecord], items: list[VectorItem]) -> None:
        """One write of records and their new embeddings: both stores (a reindex writes only its new index)."""
        write_batch(self.vectors, self.metadata, records, items, duplicate_similarity=self.duplicate_similarity)

    def _retrying(self, call: Callable[[], T]) -> T:
        return retry_transient(call, self.backoff, on_retry=self._on_retry)

    @staticmethod
    def _on_retry(error: BaseException, attempt: int, delay_s: float) -> None:
        log.warning("ingest.store_unavailable", attempt=attempt, retry_in_s=round(delay_s, 2), error=str(error)[:300])

    def _reject(self, rejection: Rejection, report: IngestReport) -> None:
        report.rejected[rejection.reason] += 1
        self.dead_letter.send(rejection)
        log.warning("ingest.rejected", reason=rejection.reason, detail=rejection.detail[:300],
                    product=rejection.product_key, url=rejection.url)
