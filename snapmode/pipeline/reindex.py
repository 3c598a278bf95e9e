"""Embed every stored product again into a new collection, then point the index's name at it (`snapmode reindex`).

The metadata store's records are the source: their images go through the ingest runner's own steps (fetch, decode,
embed; image ids and filter fields as an ingest gives them), written to the new collection only, while searches
answer from the old one. Then a catch-up pass takes the products written or changed meanwhile, products deleted
meanwhile leave the new collection, and the alias moves in one step (`Collections.swap`). A run stopped midway
leaves its collection unnamed: the next run for the same model resumes it, embedding only the images it lacks.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import grpc
from pymilvus import MilvusClient, MilvusException

from snapmode.config import Settings
from snapmode.interfaces import Embedder, MetadataStore, VectorItem
from snapmode.logs import get_logger
from snapmode.pipeline.runner import IngestReport, IngestRunner
from snapmode.pipeline.steps import write_product_vectors
from snapmode.records import ProductRecord
from snapmode.stores.collections import Collections, Identity
from snapmode.stores.factory import build_metadata_store, build_vector_store, milvus_endpoint
from snapmode.stores.lite import is_lite_uri
from snapmode.stores.milvus import MilvusVectorStore, store_error

log = get_logger(__name__)
PAGE = 500  # records read from the metadata store at a time


@dataclass
class ReindexReport:
    name: str  # the collection name of the settings, an alias once reindexed
    model_id: str
    dim: int
    collection: str = ""  # the collection the name stands for now
    previous: str | None = None  # the one it stood for before
    dropped: bool = False  # `previous` was dropped (else kept: `--keep-old`)
    resumed: bool = False  # a collection left by a run stopped midway was completed
    up_to_date: bool = False  # the index was already this model's: nothing done (`--force` rebuilds it)
    products: int = 0
    images_indexed: int = 0
    images_kept: int = 0  # already in the resumed collection, not embedded again
    removed: int = 0  # products deleted during the run, taken out of the new collection
    rejected: Counter[str] = field(default_factory=Counter)  # images refused, by reason (in the dead letters)
    others: list[str] = field(default_factory=list)  # other collections of the name, left as they are
    seconds: float = 0.0

    def add(self, run: IngestReport) -> None:
        self.images_indexed += run.images_indexed
        self.images_kept += run.images_skipped
        self.rejected.update(run.rejected)

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "model_id": self.model_id, "dim": self.dim, "collection": self.collection,
                "previous": self.previous, "dropped": self.dropped, "resumed": self.resumed,
                "up_to_date": self.up_to_date, "products": self.products, "images_indexed": self.images_indexed,
                "images_kept": self.images_kept, "images_rejected": sum(self.rejected.values()),
                "rejected_by_reason": dict(self.rejected), "removed": self.removed, "others": self.others,
                "seconds": round(self.seconds, 3)}


@dataclass
class Ticks:
    """What a progress display hears: the number of products to go through, each product read, images done."""

    total: Callable[[int], None] = lambda n: None
    product: Callable[[], None] = lambda: None
    images: Callable[[int], None] = lambda n: None


class VectorsOnlyRunner(IngestRunner):
    """The ingest runner, writing the vectors only: the metadata store already holds these very records."""

    def write_stores(self, records: list[ProductRecord], items: list[VectorItem]) -> None:
        write_product_vectors(self.vectors, records, items)


def stored_records(metadata: MetadataStore, page: int = PAGE) -> Iterator[ProductRecord]:
    """Every live product's record, by key, a page at a time."""
    offset = 0
    while records := metadata.query(limit=page, offset=offset):
        yield from records
        offset += len(records)


def reindex(settings: Settings, embedder: Embedder, *, keep_old: bool = False, force: bool = False,
            ticks: Ticks | None = None) -> ReindexReport:
    """Rebuild the index of `settings.collection` with `embedder` and swap it in; the old collection is dropped
    after the swap unless `keep_old`. Nothing is done when the index already holds this model's vectors, unless
    `force`."""
    started = time.perf_counter()
    wanted = Identity(embedder.model_id, embedder.dim)
    report = ReindexReport(name=settings.collection, model_id=embedder.model_id, dim=embedder.dim)
    uri, options, release = milvus_endpoint(settings)
    client = MilvusClient(uri=uri, timeout=settings.milvus_timeout_s, grpc_options=options)
    metadata = build_metadata_store(settings)
    try:
        collections = Collections(client, settings.collection, timeout_s=settings.milvus_timeout_s,
                                  lite=is_lite_uri(uri))
        active = collections.active()
        if active is not None and collections.identity(active) == wanted and not force:
            report.collection, report.up_to_date = active, True
            return report
        target, report.resumed = target_for(collections, active, wanted)
        log.info("reindex.started", name=settings.collection, active=active, collection=target,
                 model_id=wanted.model_id, dim=wanted.dim, resumed=report.resumed)
        vectors = build_vector_store(settings, embedder.dim, model_id=embedder.model_id, collection=target)
        try:
            runner = VectorsOnlyRunner.from_settings(settings, embedder=embedder, vectors=vectors, metadata=metadata,
                                                     skip_indexed=True, allow_files=settings.solr_url is None)
            rebuild(runner, report, ticks or Ticks())
        finally:
            vectors.close()
        report.collection, report.previous = target, collections.swap(target)
        if report.previous is not None and not keep_old:
            collections.drop(report.previous)
            report.dropped = True
        report.others = [c for c in collections.physicals() if c != target]
    except (MilvusException, grpc.RpcError) as exc:
        raise store_error(exc, f"Milvus at {uri}") from exc
    finally:
        metadata.close()
        client.close()
        if release is not None:
            release()
    report.seconds = time.perf_counter() - started
    log.info("reindex.done", **report.as_dict())
    return report


def target_for(collections: Collections, active: str | None, wanted: Identity) -> tuple[str, bool]:
    """(the collection to build, whether it is resumed): one of the name's collections that is not active and holds
    this model's vectors (a run stopped midway, or an old index kept), else a new one."""
    for physical in collections.physicals():
        if physical != active and collections.identity(physical) == wanted:
            return physical, True
    return collections.next_name(), False


def rebuild(runner: VectorsOnlyRunner, report: ReindexReport, ticks: Ticks) -> None:
    """Fill the runner's vector store (the new collection) from its metadata store's records: a pass over every
    product, a catch-up pass over those written or changed during the first, then the products deleted meanwhile out."""
    metadata, vectors = runner.metadata, runner.vectors
    assert isinstance(vectors, MilvusVectorStore), "a reindex builds a Milvus collection"
    first: dict[str, datetime] = {}

    def listed(records: Iterable[ProductRecord]) -> Iterator[ProductRecord]:
        for record in records:
            first[record.key] = record.crawled_at
            ticks.product()
            yield record

    ticks.total(metadata.count())
    report.add(runner.run(listed(stored_records(metadata)), on_image=ticks.images))
    live: set[str] = set()

    def changed() -> Iterator[ProductRecord]:
        for record in stored_records(metadata):
            live.add(record.key)
            if first.get(record.key) != record.crawled_at:
                yield record

    report.add(runner.run(changed(), on_image=ticks.images))
    gone = sorted(vectors.product_keys() - live)
    if gone:
        vectors.delete([image for ids in vectors.images_of(gone).values() for image in ids])
    report.products, report.removed = len(live), len(gone)
