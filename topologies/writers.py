"""Writer bolts: batched upserts of embeddings into the vector store and of records into the metadata store.

Both are grouped by product key, so one task sees every version of a product in order; the metadata writer marks
near-duplicates with the embeddings the tuples carry. A row the store refuses is
dead-lettered alone with the store's reason; the rest of the batch is acknowledged.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from streamparse import Stream

from snapmode.platform import embedder_identity
from snapmode.interfaces import IndexMismatch, MetadataStore, StoreUnavailable, VectorItem, VectorStore
from snapmode.pipeline.steps import (Rejection, current_records, drop_deleted_since, find_duplicates,
                                     isolate_refusals, newest, write_metadata, write_product_vectors)
from snapmode.records import ProductRecord
from snapmode.retries import Backoff, retry_transient
from snapmode.stores.factory import build_metadata_store, build_vector_store
from snapmode.topologies.batching import BatchBolt
from snapmode.topologies.component import Counters, setup_component
from snapmode.topologies.payloads import REJECTION_FIELDS, item_from_values, rejection_values

REFUSED = "refused"  # rows a store refused, for the dead-letter bolt
T = TypeVar("T")
Decoded = list[tuple[VectorItem, ProductRecord]]


class AppliedVersions:
    """The newest version this writer task applied per product key (the most recent `limit` keys): the metadata
    store may not hold a version yet that this task already wrote, so a late older record is checked against both."""

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._at: OrderedDict[str, datetime] = OrderedDict()

    def current(self, records: Sequence[ProductRecord]) -> list[ProductRecord]:
        return [r for r in records if r.key not in self._at or self._at[r.key] <= r.crawled_at]

    def applied(self, records: Sequence[ProductRecord]) -> None:
        for r in records:
            self._at[r.key] = max(r.crawled_at, self._at.get(r.key, r.crawled_at))
            self._at.move_to_end(r.key)
        while len(self._at) > self.limit:
            self._at.popitem(last=False)


def with_retries(write: Callable[[], T], *, backoff: Backoff, counters: Counters) -> T | None:
    """Run `write`, retrying a store that is away with a growing delay for the backoff's budget; its result, or None
    when the store stayed away (the caller fails its tuples: the spout replays them later). Any other error
    propagates."""

    def retrying(error: BaseException, attempt: int, delay_s: float) -> None:
        counters.add("store_unavailable")
        counters.log.warning("writer.store_unavailable", attempt=attempt, retry_in_s=round(delay_s, 2),
                             error=str(error)[:300])

    try:
        return retry_transient(write, backoff, on_retry=retrying)
    except StoreUnavailable as exc:
        counters.add("store_unavailable")
        counters.log.warning("writer.store_away", budget_s=backoff.budget_s, error=str(exc)[:300])
        return None


class WriterBolt(BatchBolt):
    """Acks a batch once its store confirmed the upsert; fails it (the spout replays) when the store stays away or
    an unexpected error occurs; dead-letters the products whose rows the store refused, and acks them."""

    outputs = [Stream(REJECTION_FIELDS, name=REFUSED)]

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        super().initialize(storm_conf, context)
        self.settings, self.counters = setup_component(storm_conf, context)
        self.batch_size = self.settings.writer_batch_size

    def process_batch(self, tuples: list[Any]) -> None:
        decoded = [item_from_values(t.values) for t in tuples]
        try:
            refused = with_retries(lambda: self.write(decoded), backoff=Backoff.from_settings(self.settings),
                                   counters=self.counters)
        except IndexMismatch as exc:  # failed, as a store away: the spout replays them (`snapmode reindex`)
            self.counters.log.error("writer.index_mismatch", batch=len(tuples), error=str(exc))
            refused = None
        except Exception as exc:  # noqa: BLE001 - replayed, and dead-lettered by the spout after max attempts
            self.counters.log.exception("writer.error", batch=len(tuples), error=repr(exc)[:300])
            refused = None
        if refused is None:
            for tup in tuples:
                self.fail(tup)
            self.counters.add("failed", len(tuples))
            return
        for key, reason in refused.items():
            anchors = [t for t, (item, _) in zip(tuples, decoded) if item.product_key == key]
            [record] = newest([r for item, r in decoded if item.product_key == key])
            self.emit(rejection_values(Rejection.of_refusal(reason, product_key=key, payload=record.to_json())),
                      stream=REFUSED, anchors=anchors)
            self.counters.log.warning("writer.refused", product=key, reason=reason[:300])
        for tup in tuples:
            self.ack(tup)
        self.counters.add("written", len(tuples))
        if refused:
            self.counters.add("refused", len(refused))

    def write(self, decoded: Decoded) -> dict[str, str]:
        """Write the batch; returns the refused products' keys with the store's reasons."""
        raise NotImplementedError

    def vector_store(self, dim: int) -> VectorStore:
        """The vector store, refused (`IndexMismatch`) when its index was made by another model than the embedder."""
        model_id, _ = embedder_identity(self.settings)
        return build_vector_store(self.settings, dim=dim, model_id=model_id, streaming=True)


class VectorWriterBolt(WriterBolt):
    """Makes each product's vectors those of its newest record: upserts the new embeddings by their deterministic
    image id (a replay overwrites, never duplicates), re-tags the images it keeps, deletes those it dropped. A record
    older than the metadata store's version of its product (or of its deletion) changes nothing."""

    store: VectorStore | None = None
    metadata: MetadataStore | None = None

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        super().initialize(storm_conf, context)
        self.versions = AppliedVersions()

    def write(self, decoded: Decoded) -> dict[str, str]:
        if self.store is None:
            self.store = self.vector_store(len(decoded[0][0].vector))
        if self.metadata is None:
            self.metadata = build_metadata_store(self.settings)
        metadata = self.metadata
        records = self.versions.current(current_records(metadata, [record for _, record in decoded]))
        items = [item for item, _ in decoded]
        store = self.store

        def write(keys: list[str]) -> None:
            chosen = set(keys)
            write_product_vectors(store, [r for r in records if r.key in chosen],
                                  [i for i in items if i.product_key in chosen])

        refused = isolate_refusals(write, [r.key for r in records], row_id=str)
        written = [r for r in records if r.key not in refused]
        self.versions.applied(written)
        drop_deleted_since(store, metadata, written)  # the deletion bolt runs apart: it may have raced this write
        return refused


class MetadataWriterBolt(WriterBolt):
    """Upserts each product's newest record by product key; the store refuses versions older than its own. Each
    record is first checked for near-duplicates against the vector store (`find_duplicates`), with the embeddings
    its tuples carry, and stored with its mark."""

    store: MetadataStore | None = None
    vectors: VectorStore | None = None

    def write(self, decoded: Decoded) -> dict[str, str]:
        if self.store is None:
            self.store = build_metadata_store(self.settings)
        store = self.store
        records = newest([record for _, record in decoded])
        marks: dict[str, str] = {}
        if self.settings.duplicate_similarity > 0:
            if self.vectors is None:
                self.vectors = self.vector_store(len(decoded[0][0].vector))
            marks = find_duplicates(self.vectors, store, records, [item for item, _ in decoded],
                                    similarity=self.settings.duplicate_similarity)
        return isolate_refusals(lambda rows: write_metadata(store, rows, marks), records, row_id=lambda r: r.key)
