"""Values between components survive the JSON multi-lang protocol unchanged."""

import json
from pathlib import Path

import numpy as np
from PIL import Image

from snapmode.catalog.generate import generate_catalog
from snapmode.interfaces import VectorItem
from snapmode.model.embedder import CbirGanEmbedder
from snapmode.pipeline.steps import PreparedImage, Rejection
from snapmode.records import ProductRecord
from snapmode.topologies import payloads


def record() -> ProductRecord:
    return ProductRecord(site="shop", product_id="p1", url="https://shop.example/p1", title="Red dress",
                         price=19.5, currency="EUR", image_urls=("https://shop.example/p1.jpg",))


def test_prepared_image_round_trip_keeps_the_photo_and_its_embedding(tmp_path: Path) -> None:
    generate_catalog(tmp_path, products=1, views=1, seed=3)
    image = Image.open(tmp_path / "images" / "SM00001" / "0.jpg").convert("RGB")
    rec = record()
    values = payloads.image_values(PreparedImage(record=rec, ref=rec.images()[0], image=image))
    back = payloads.prepared_from_values(json.loads(json.dumps(values)))

    assert back.record == rec and back.ref == rec.images()[0]
    assert back.image.size == image.size and back.image.mode == "RGB"
    error = np.abs(np.asarray(back.image, np.float32) - np.asarray(image, np.float32)).mean()
    assert error < 2.0  # of 255
    embedder = CbirGanEmbedder(device="cpu")
    before, after = embedder.embed([image, back.image])
    assert float(before @ after) > 0.995


def test_item_round_trip_keeps_vector_and_fields() -> None:
    rec = record()
    vector = np.random.default_rng(1).standard_normal(16).astype(np.float32)
    item = VectorItem.from_record(rec, rec.images()[0].image_id, vector)
    back_item, back_record = payloads.item_from_values(json.loads(json.dumps(payloads.item_values(item, rec))))
    assert back_record == rec
    assert back_item.image_id == item.image_id and back_item.price == 19.5 and back_item.site == "shop"
    assert np.array_equal(back_item.vector, vector)


def test_rejection_round_trip() -> None:
    rejection = Rejection(reason="not_found", detail="gone", product_key="shop:p1", retryable=False)
    assert payloads.rejection_from_values(json.loads(json.dumps(payloads.rejection_values(rejection)))) == rejection
