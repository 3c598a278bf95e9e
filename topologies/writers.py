"""Writer bolts: batched upserts of embeddings into the vector store and of records into the metadata store.

Both are grouped by product key, so one task sees every version of a product in order; the metadata writer marks
near-duplicates with the embeddings the tuples carry. A product whose row the store refuses is dead-lettered alone
with the store's reason; the rest of the batch is acknowledged.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from cachetools import LRUCache
from streamparse import Stream

from snapmode.interfaces import IndexMismatch, MetadataStore, StoreUnavailable, VectorStore
from snapmode.pipeline.steps import (OnRetry, Rejection, current_records, drop_deleted_since, find_duplicates, newest,
                                     write_isolated, write_metadata, write_product_vectors)
from snapmode.platform import embedder_identity
from snapmode.records import ProductRecord
from snapmode.retries import Backoff, retry_transient
from snapmode.stores.factory import build_metadata_store, build_vector_store
from snapmode.topologies.batching import BatchBolt
from snapmode.topologies.component import Counters, setup_component
from snapmode.topologies.payloads import REJECTION_FIELDS, ProductVectors, rejection_values, vectors_from_values

REFUSED = "refused"  # rows a store refused, for the dead-letter bolt
T = TypeVar("T")


class AppliedVersions:
    """The newest version this writer task applied per product key (the most recent `limit` keys): the metadata
    store may not hold a version yet that this task already wrote, so a late older record is checked against both."""

    def __init__(self, limit: int = 100_000) -> None:
        self._at: LRUCache[str, datetime] = LRUCache(maxsize=limit)

    def current(self, records: Sequence[ProductRecord]) -> list[ProductRecord]:
        return [r for r in records if r.key not in self._at or self._at[r.key] <= r.crawled_at]

    def applied(self, records: Sequence[ProductRecord]) -> None:
        for r in records:
            self._at[r.key] = max(r.crawled_at, self._at.get(r.key, r.crawled_at))


def store_retries(counters: Counters) -> OnRetry:
    """What a bolt does before each wait for a store that is away: count it and log it."""

    def retrying(error: BaseException, attempt: int, delay_s: float) -> None:
        counters.add("store_unavailable")
        counters.log.warning("writer.store_unavailable", attempt=attempt, retry_in_s=round(delay_s, 2),
                             error=str(error)[:300])

    return retrying


def latest_json(products: Sequence[ProductVectors], key: str) -> str:
    """The JSON of the newest record of product `key` among `products`."""
    [record] = newest([p.record for p in products if p.record.key == key])
    return next(p.record_json for p in products if p.record is record)


class WriterBolt(BatchBolt[ProductVectors]):
    """Acks a batch once its store confirmed the upsert; fails it (the spout replays) when the store stays away or
    an unexpected error occurs; dead-letters the products whose rows the store refused, and acks them. A batch holds
    about `writer_batch_size` images."""

    outputs = [Stream(REJECTION_FIELDS, name=REFUSED)]
    store_name = "store"  # its step in the metrics: write_vectors, write_metadata

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        super().initialize(storm_conf, context)
        self.settings, self.counters = setup_component(storm_conf, context)
        self.batch_size = self.settings.writer_batch_size
        self.backoff = Backoff.from_settings(self.settings)
        self.on_retry = store_retries(self.counters)

    def read(self, tup: Any) -> ProductVectors:
        return vectors_from_values(tup.values)

    def size(self, entry: ProductVectors) -> int:
        return len(entry.items)

    def process_batch(self, batch: list[tuple[Any, ProductVectors]]) -> None:
        products = [product for _, product in batch]
        started = time.perf_counter()
        try:
            refused: dict[str, str] | None = self.write(products)
        except StoreUnavailable as exc:  # away for the whole budget: the spout replays the batch later
            self.counters.add("store_unavailable")
            self.counters.log.warning("writer.store_away", budget_s=self.backoff.budget_s, error=str(exc)[:300])
            refused = None
        except IndexMismatch as exc:  # failed, as a store away: the spout replays them (`snapmode reindex`)
            self.counters.log.error("writer.index_mismatch", batch=len(batch), error=str(exc))
            refused = None
        except Exception as exc:  # noqa: BLE001 - replayed, and dead-lettered by the spout after max attempts
            self.counters.log.exception("writer.error", batch=len(batch), error=repr(exc)[:300])
            refused = None
        if refused is None:
            for tup, _ in batch:
                self.fail(tup)
            self.counters.add("failed", len(batch))
            return
        for key, reason in refused.items():
            rejection = Rejection.of_refusal(reason, product_key=key, payload=latest_json(products, key))
            self.emit(rejection_values(rejection), stream=REFUSED,
                      anchors=[tup for tup, product in batch if product.record.key == key])
            self.counters.log.warning("writer.refused", product=key, reason=reason[:300])
        for tup, _ in batch:
            self.ack(tup)
        self.counters.add("written", sum(len(p.items) for p in products))
        self.counters.batch(len(products), f"write_{self.store_name}", time.perf_counter() - started)
        if self.store_name == "metadata":  # a product is searchable once its record is written
            now = time.time()
            for product in products:
                if product.record.key not in refused:
                    self.counters.freshness(now - product.record.crawled_at.timestamp())
        if refused:
            self.counters.add("refused", len(refused))

    def write(self, products: list[ProductVectors]) -> dict[str, str]:
        """Write the batch; returns the refused products' keys with the store's reasons."""
        raise NotImplementedError

    def retrying(self, call: Callable[[], T]) -> T:
        """`call()`, a store away waited for within the backoff's budget."""
        return retry_transient(call, self.backoff, on_retry=self.on_retry)

    def write_newest(self, write: Callable[[list[ProductRecord]], object],
                     products: list[ProductVectors]) -> dict[str, str]:
        """`write` the newest record of each product, retried and refused row by row as the in-process runner does."""
        return write_isolated(write, newest([p.record for p in products]), row_id=lambda r: r.key,
                              backoff=self.backoff, on_retry=self.on_retry)

    def vector_store(self, dim: int) -> VectorStore:
        """The vector store, refused (`IndexMismatch`) when its index was made by another model than the embedder."""
        model_id, _ = embedder_identity(self.settings)
        return build_vector_store(self.settings, dim=dim, model_id=model_id, streaming=True)


class VectorWriterBolt(WriterBolt):
    """Makes each product's vectors those of its newest record: upserts the new embeddings by their deterministic
    image id (a replay overwrites, never duplicates), re-tags the images it keeps, deletes those it dropped. A record
    older than the metadata store's version of its product (or of its deletion) changes nothing."""

    store_name = "vectors"
    store: VectorStore | None = None
    metadata: MetadataStore | None = None

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        super().initialize(storm_conf, context)
        self.versions = AppliedVersions()

    def open(self, dim: int) -> tuple[VectorStore, MetadataStore]:
        if self.store is None:
            self.store = self.vector_store(dim)
        if self.metadata is None:
            self.metadata = build_metadata_store(self.settings)
        return self.store, self.metadata

    def write(self, products: list[ProductVectors]) -> dict[str, str]:
        store, metadata = self.retrying(lambda: self.open(len(products[0].items[0].vector)))
        items = [item for product in products for item in product.items]

        def write(records: list[ProductRecord]) -> None:
            current = self.versions.current(current_records(metadata, records))
            write_product_vectors(store, current, items)
            self.versions.applied(current)
            drop_deleted_since(store, metadata, current)  # the deletion bolt runs apart: it may have raced this write

        return self.write_newest(write, products)


class MetadataWriterBolt(WriterBolt):
    """Upserts each product's newest record by product key; the store refuses versions older than its own. Each
    record is first checked for near-duplicates against the vector store (`find_duplicates`), with the embeddings
    its tuples carry, and stored with its mark."""

    store_name = "metadata"
    store: MetadataStore | None = None
    vectors: VectorStore | None = None

    def open(self, dim: int) -> tuple[MetadataStore, VectorStore | None]:
        if self.store is None:
            self.store = build_metadata_store(self.settings)
        if self.vectors is None and self.settings.duplicate_similarity > 0:
            self.vectors = self.vector_store(dim)
        return self.store, self.vectors

    def write(self, products: list[ProductVectors]) -> dict[str, str]:
        store, vectors = self.retrying(lambda: self.open(len(products[0].items[0].vector)))
        items = [item for product in products for item in product.items]

        def write(records: list[ProductRecord]) -> None:
            marks = {} if vectors is None else find_duplicates(vectors, store, records, items,
                                                               similarity=self.settings.duplicate_similarity)
            write_metadata(store, records, marks)

        return self.write_newest(write, products)
