"""Near-duplicates in the topology: the metadata writer marks a product whose image repeats another product's, with the
embeddings its tuples carry; replays give the same marks and never mark a product as its own duplicate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from snapmode.config import Settings
from snapmode.interfaces import MetadataStore, VectorItem, VectorStore
from snapmode.records import ProductRecord
from snapmode.topologies.payloads import vectors_values
from snapmode.topologies.writers import MetadataWriterBolt, VectorWriterBolt
from tests.topologies.harness import commands, messages, open_stores, start, tick, tup
from tests.topologies.test_updates_and_deletions import version

DIM = 8


def unit(seed: int, noise: float = 0.0, base: int | None = None) -> np.ndarray:
    """A unit vector; with `base`, that seed's vector moved by `noise` (a re-encoded copy of its photo)."""
    v = np.random.default_rng(seed if base is None else base).normal(size=DIM)
    if base is not None:
        v = v + noise * np.random.default_rng(seed).normal(size=DIM)
    return (v / np.linalg.norm(v)).astype(np.float32)


@pytest.fixture
def stores(settings: Settings) -> Iterator[tuple[VectorStore, MetadataStore]]:
    yield from open_stores(settings, DIM)


def send(bolt: Any, record: ProductRecord, vectors: list[np.ndarray]) -> list[dict[str, Any]]:
    items = [VectorItem.from_record(record, ref.image_id, vector) for ref, vector in zip(record.images(), vectors)]
    bolt.process(tup(vectors_values(record.key, record.to_json(), items), tup_id="p"))
    bolt.process_tick(tick())
    return messages(bolt)


def test_the_metadata_writer_marks_a_copy_and_replays_keep_the_marks(settings: Settings,
                                                                     stores: tuple[VectorStore, MetadataStore]
                                                                     ) -> None:
    _, metadata = stores
    writers = [start(MetadataWriterBolt, settings, "metadata"), start(VectorWriterBolt, settings, "vectors")]
    a, b, c = version("a", [0, 1], price=1.0), version("b", [0], price=1.0), version("c", [0], price=1.0)
    photos = {"a": [unit(1), unit(2)], "b": [unit(10, 0.02, base=2)], "c": [unit(3)]}

    def ingest(record: ProductRecord) -> None:
        for bolt in writers:
            sent = send(bolt, record, photos[record.product_id])
            assert [m["id"] for m in commands(sent, "ack")] == ["p"] and commands(sent, "fail") == []

    for record in (a, b, c):
        ingest(record)
    expected = {"shop:a": None, "shop:b": "shop:a", "shop:c": None}
    assert metadata.duplicate_marks(list(expected)) == expected
    for record in (b, a, c, b):  # replays, the original's too
        ingest(record)
    assert metadata.duplicate_marks(list(expected)) == expected


def test_off_when_the_similarity_is_zero(settings: Settings, stores: tuple[VectorStore, MetadataStore]) -> None:
    _, metadata = stores
    off = settings.model_copy(update={"duplicate_similarity": 0.0})
    writers = [start(MetadataWriterBolt, off, "metadata"), start(VectorWriterBolt, off, "vectors")]
    for record, vector in ((version("a", [0], price=1.0), unit(1)), (version("b", [0], price=1.0), unit(1))):
        for bolt in writers:
            send(bolt, record, [vector])
    assert metadata.duplicate_marks(["shop:a", "shop:b"]) == {"shop:a": None, "shop:b": None}
    assert writers[0].vectors is None  # no vector store opened for it
