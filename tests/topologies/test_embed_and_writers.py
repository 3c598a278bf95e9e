"""Embed bolt batches images across products and anchors each product's embeddings; writer bolts ack only what their
store confirmed, and fail what it could not take."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from snapmode.config import Settings
from snapmode.pipeline.steps import PreparedImage
from snapmode.records import ProductRecord
from snapmode.stores.factory import build_metadata_store, build_vector_store
from snapmode.topologies import embed as embed_module
from snapmode.topologies.embed import EmbedBolt
from snapmode.topologies.payloads import product_values, vectors_from_values
from snapmode.topologies.writers import MetadataWriterBolt, VectorWriterBolt
from tests.conftest import MeanColourEmbedder
from tests.topologies.harness import commands, messages, start, tick, tup


def prepared(index: int, views: int = 1) -> list[PreparedImage]:
    record = ProductRecord(site="shop", product_id=f"p{index}", url=f"https://shop.example/p{index}",
                           title=f"Product {index}", category="dress",
                           image_urls=tuple(f"https://shop.example/p{index}/{v}.jpg" for v in range(views)))
    return [PreparedImage(record=record, ref=ref, image=Image.new("RGB", (32, 32), (index * 20, 100, 200 - v * 50)))
            for v, ref in enumerate(record.images())]


@pytest.fixture
def embedded_items(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Product tuples as the embed bolt emits them for 3 products x 2 views."""
    monkeypatch.setattr(embed_module, "build_embedder", lambda s: MeanColourEmbedder())
    bolt = start(EmbedBolt, settings.model_copy(update={"embed_batch_size": 4}), "embed")
    for n in range(3):
        bolt.process(tup(product_values(prepared(n, views=2)), tup_id=f"i{n}"))
    full = messages(bolt)
    assert len(commands(full, "emit")) == 2  # 4 images, a full batch, go at once ...
    assert [m["anchors"] for m in commands(full, "emit")] == [["i0"], ["i1"]]
    assert [m["id"] for m in commands(full, "ack")] == ["i0", "i1"]
    bolt.process_tick(tick())  # ... the rest when the tick comes
    rest = messages(bolt)
    assert [m["id"] for m in commands(rest, "ack")] == ["i2"]
    return [m["tuple"] for m in commands(full + rest, "emit")]


def test_embed_bolt_emits_each_product_once_with_one_item_per_image(embedded_items: list[list[str]]) -> None:
    products = [vectors_from_values(values) for values in embedded_items]
    assert [p.record.product_id for p in products] == ["p0", "p1", "p2"]
    assert [values[0] for values in embedded_items] == [p.record.key for p in products]
    items = [i for p in products for i in p.items]
    assert len({i.image_id for i in items}) == 6
    assert all({i.image_id for i in p.items} == {r.image_id for r in p.record.images()} for p in products)
    assert all(np.isclose(np.linalg.norm(i.vector), 1.0) for i in items)


def test_writers_upsert_once_and_ack_after_the_store_confirmed(settings: Settings, embedded_items) -> None:  # type: ignore[no-untyped-def]
    writer_settings = settings.model_copy(update={"writer_batch_size": 4})
    vectors_bolt = start(VectorWriterBolt, writer_settings, "vectors")
    metadata_bolt = start(MetadataWriterBolt, writer_settings, "metadata")
    for bolt in (vectors_bolt, metadata_bolt):
        for n, values in enumerate(embedded_items + embedded_items[:2]):  # two replayed products
            bolt.process(tup(values, tup_id=f"e{n}"))
        bolt.process_tick(tick())
        sent = messages(bolt)
        assert sorted(m["id"] for m in commands(sent, "ack")) == sorted(f"e{n}" for n in range(5))
        assert commands(sent, "fail") == []
        bolt.store.close()
    vectors = build_vector_store(settings, dim=MeanColourEmbedder.dim)
    metadata = build_metadata_store(settings)
    assert vectors.count() == 6 and metadata.count() == 3
    vectors.close()
    metadata.close()


def test_writer_fails_the_batch_when_the_store_stays_unavailable(settings: Settings, embedded_items) -> None:  # type: ignore[no-untyped-def]
    away = settings.model_copy(update={"milvus_uri": "http://127.0.0.1:9", "store_retry_budget_s": 0.5,
                                       "retry_first_delay_s": 0.1, "writer_batch_size": 2})
    bolt = start(VectorWriterBolt, away, "vectors")
    bolt.process(tup(embedded_items[0], tup_id="a"))
    bolt.process(tup(embedded_items[1], tup_id="b"))
    sent = messages(bolt)
    assert sorted(m["id"] for m in commands(sent, "fail")) == ["a", "b"]
    assert commands(sent, "ack") == []
    assert bolt.counters.totals["store_unavailable"] >= 3  # retried with a growing delay, then handed back


def test_embed_bolt_fails_alone_a_tuple_whose_handoff_file_is_gone(settings: Settings, tmp_path,  # type: ignore[no-untyped-def]
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embed_module, "build_embedder", lambda s: MeanColourEmbedder())
    bolt = start(EmbedBolt, settings.model_copy(update={"embed_batch_size": 3, "handoff_dir": tmp_path / "h"}), "embed")
    values = [product_values(prepared(i), bolt.handoff) for i in range(3)]
    [[_, name]] = json.loads(values[1][-1])
    (tmp_path / "h" / name.removeprefix("handoff:")).unlink()
    for n, v in enumerate(values):
        bolt.process(tup(v, tup_id=f"i{n}"))
    bolt.process_tick(tick())  # two images left: less than a batch
    sent = messages(bolt)
    assert [m["id"] for m in commands(sent, "fail")] == ["i1"]
    assert [m["id"] for m in commands(sent, "ack")] == ["i0", "i2"]
    assert list((tmp_path / "h").iterdir()) == []


def test_embed_bolt_sweeps_stale_handoff_files(settings: Settings, tmp_path,  # type: ignore[no-untyped-def]
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import time

    monkeypatch.setattr(embed_module, "build_embedder", lambda s: MeanColourEmbedder())
    bolt = start(EmbedBolt, settings.model_copy(update={"handoff_dir": tmp_path / "h", "message_timeout_s": 30}),
                 "embed")
    stale, fresh = (bolt.handoff.put(p.image).removeprefix("handoff:") for p in prepared(0, views=2))
    os.utime(tmp_path / "h" / stale, (time.time() - 60, time.time() - 60))
    bolt.process_tick(tick())  # swept at start: not again before `message_timeout_s`
    assert (tmp_path / "h" / stale).exists()
    bolt.swept_at -= 31
    bolt.process_tick(tick())
    assert [p.name for p in (tmp_path / "h").iterdir()] == [fresh]


def test_writers_refuse_an_index_of_another_model_and_fail_the_batch(settings: Settings, embedded_items) -> None:  # type: ignore[no-untyped-def]
    """An index made by another model than the topology's embedder (`embedder_identity` of the settings) is never
    written: the batch is failed, for the spout to replay once `snapmode reindex` rebuilt it."""
    from snapmode.platform import embedder_identity

    build_vector_store(settings, dim=MeanColourEmbedder.dim, model_id="mean-colour:old").close()
    assert embedder_identity(settings)[0] != "mean-colour:old"
    for bolt_cls in (VectorWriterBolt, MetadataWriterBolt):
        bolt = start(bolt_cls, settings.model_copy(update={"writer_batch_size": 2}), "writer")
        bolt.process(tup(embedded_items[0], tup_id="a"))
        bolt.process(tup(embedded_items[1], tup_id="b"))
        sent = messages(bolt)
        assert sorted(m["id"] for m in commands(sent, "fail")) == ["a", "b"] and commands(sent, "ack") == []
    vectors = build_vector_store(settings, dim=MeanColourEmbedder.dim)
    assert vectors.count() == 0
    vectors.close()


def test_a_product_is_embedded_whole_even_past_the_batch_size(settings: Settings,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embed_module, "build_embedder", lambda s: MeanColourEmbedder())
    bolt = start(EmbedBolt, settings.model_copy(update={"embed_batch_size": 2}), "embed")
    bolt.process(tup(product_values(prepared(0, views=3)), tup_id="p0"))
    sent = messages(bolt)
    [emitted] = commands(sent, "emit")
    assert len(vectors_from_values(emitted["tuple"]).items) == 3 and emitted["anchors"] == ["p0"]
    assert [m["id"] for m in commands(sent, "ack")] == ["p0"]
