"""Deletion bolt: applies each tombstone to both stores (metadata first, keeping the tombstone, then the vectors)."""

from __future__ import annotations

from typing import Any

from streamparse import Bolt, Stream

from snapmode.platform import embedder_dim
from snapmode.interfaces import MetadataStore, VectorStore
from snapmode.pipeline.steps import Rejection, delete_products, refusal_reason
from snapmode.records import Tombstone
from snapmode.retries import Backoff
from snapmode.stores.factory import build_metadata_store, build_vector_store
from snapmode.topologies.component import setup_component
from snapmode.topologies.payloads import REJECTION_FIELDS, rejection_values, tombstone_from_values
from snapmode.topologies.writers import REFUSED, with_retries


class DeletionBolt(Bolt):
    """Acks a tombstone once both stores applied it (or hold a newer version of the product); fails it, so the spout
    replays it, while a store stays away; dead-letters it when a store refuses it."""

    outputs = [Stream(REJECTION_FIELDS, name=REFUSED)]
    auto_ack = False
    vectors: VectorStore | None = None
    metadata: MetadataStore | None = None

    def initialize(self, storm_conf: dict[str, Any], context: dict[str, Any]) -> None:
        self.settings, self.counters = setup_component(storm_conf, context)

    def process(self, tup) -> None:  # type: ignore[no-untyped-def]
        tombstone = tombstone_from_values(tup.values)
        try:
            deleted = with_retries(lambda: self.delete(tombstone), backoff=Backoff.from_settings(self.settings),
                                   counters=self.counters)
        except Exception as exc:  # noqa: BLE001 - retrying cannot cure it: dead-lettered with its reason
            self.counters.log.exception("deletion.refused", product=tombstone.key, error=repr(exc)[:300])
            rejection = Rejection.of_refusal(refusal_reason(exc), product_key=tombstone.key,
                                             payload=tombstone.to_json())
            self.emit(rejection_values(rejection), stream=REFUSED, anchors=[tup])
            self.counters.add("refused")
            self.ack(tup)
            return
        if deleted is None:
            self.fail(tup)
            self.counters.add("failed")
            return
        self.counters.log.info("deletion.applied", product=tombstone.key, deleted=bool(deleted),
                               reason=tombstone.reason)
        self.counters.add("deleted" if deleted else "kept_newer")
        self.ack(tup)

    def delete(self, tombstone: Tombstone) -> list[str]:
        if self.metadata is None:
            self.metadata = build_metadata_store(self.settings)
        if self.vectors is None:
            self.vectors = build_vector_store(self.settings, dim=embedder_dim(self.settings), streaming=True)
        return delete_products(self.vectors, self.metadata, [tombstone])
