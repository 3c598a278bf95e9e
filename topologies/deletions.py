"""Deletion bolt: applies each tombstone to both stores (metadata first, keeping the tombstone, then the vectors)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from streamparse import Bolt, Stream

from snapmode.interfaces import IndexMismatch, MetadataStore, StoreUnavailable, VectorStore
from snapmode.pipeline.steps import Rejection, delete_products, write_isolated
from snapmode.records import Tombstone
from snapmode.retries import Backoff
from snapmode.stores.factory import build_metadata_store, existing_vector_store
from snapmode.topologies.component import setup_component
from snapmode.topologies.payloads import REJECTION_FIELDS, rejection_values, tombstone_from_values
from snapmode.topologies.writers import REFUSED, store_retries


class DeletionBolt(Bolt):
    """Acks a tombstone once both stores applied it (or hold a newer version of the product); fails it, so the spout
    replays it, while a store stays away; dead-letters it when a store refuses it. The vector store is opened at the
    dimension its index records, with no embedder; while there is no index, there are no vectors to delete."""

    outputs = [Stream(REJECTION_FIELDS, name=REFUSED)]
    auto_ack = False
    vectors: VectorStore | None = None
    metadata: MetadataStore | None = None

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        self.settings, self.counters = setup_component(storm_conf, context)
        self.backoff = Backoff.from_settings(self.settings)
        self.on_retry = store_retries(self.counters)

    def process(self, tup) -> None:  # type: ignore[no-untyped-def]
        tombstone = tombstone_from_values(tup.values)
        deleted: list[str] = []
        try:
            refused = write_isolated(lambda rows: deleted.extend(self.delete(rows)), [tombstone],
                                     row_id=lambda t: t.key, backoff=self.backoff, on_retry=self.on_retry)
        except (StoreUnavailable, IndexMismatch) as exc:  # away for the whole budget, or the index rebuilt
            self.counters.log.warning("deletion.failed", product=tombstone.key, error=str(exc)[:300])
            self.reopen_vectors(exc)
            self.fail(tup)
            self.counters.add("failed")
            return
        if refused:  # retrying cannot cure it: dead-lettered with its reason
            self.counters.log.error("deletion.refused", product=tombstone.key, error=refused[tombstone.key][:300])
            rejection = Rejection.of_refusal(refused[tombstone.key], product_key=tombstone.key,
                                             payload=tombstone.to_json())
            self.emit(rejection_values(rejection), stream=REFUSED, anchors=[tup])
            self.counters.add("refused")
            self.ack(tup)
            return
        self.counters.log.info("deletion.applied", product=tombstone.key, deleted=bool(deleted),
                               reason=tombstone.reason)
        self.counters.add("deleted" if deleted else "kept_newer")
        self.ack(tup)

    def delete(self, tombstones: Sequence[Tombstone]) -> list[str]:
        if self.metadata is None:
            self.metadata = build_metadata_store(self.settings)
        if self.vectors is None:
            self.vectors = existing_vector_store(self.settings, streaming=True)
        return delete_products(self.vectors, self.metadata, tombstones)

    def reopen_vectors(self, error: Exception) -> None:
        """After `IndexMismatch` (the index rebuilt at another dimension), open the vector store again on replay."""
        if isinstance(error, IndexMismatch) and self.vectors is not None:
            self.vectors.close()
            self.vectors = None
