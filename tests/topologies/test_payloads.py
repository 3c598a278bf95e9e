"""Values between components survive the JSON multi-lang protocol unchanged."""

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from snapmode.config import Settings
from snapmode.datasets.catalog.generate import generate_catalog
from snapmode.interfaces import VectorItem
from snapmode.model.embedder import CbirGanEmbedder
from snapmode.pipeline.steps import PreparedImage, Rejection
from snapmode.records import ProductRecord
from snapmode.topologies import payloads
from snapmode.topologies.handoff import ImageHandoff, build_handoff, handoff_dir, is_local


def record() -> ProductRecord:
    return ProductRecord(site="shop", product_id="p1", url="https://shop.example/p1", title="Red dress",
                         price=19.5, currency="EUR", image_urls=("https://shop.example/p1.jpg",))


def test_prepared_image_round_trip_keeps_the_photo_and_its_embedding(tmp_path: Path) -> None:
    generate_catalog(tmp_path, products=1, views=1, seed=3)
    image = Image.open(tmp_path / "images" / "SM00001" / "0.jpg").convert("RGB")
    rec = record()
    values = payloads.product_values([PreparedImage(record=rec, ref=rec.images()[0], image=image)])
    product = payloads.product_from_values(json.loads(json.dumps(values)))
    [back] = product.images

    assert product.record == rec and back.record == rec and back.ref == rec.images()[0]
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
    values = payloads.vectors_values(rec.key, rec.to_json(), [item])
    assert values[0] == rec.key  # the writers group by it
    back = payloads.vectors_from_values(json.loads(json.dumps(values)))
    [back_item] = back.items
    assert back.record == rec and back.record_json == values[1]
    assert back_item.image_id == item.image_id and back_item.price == 19.5 and back_item.site == "shop"
    assert np.array_equal(back_item.vector, vector)


def test_a_product_travels_with_its_record_once_and_all_its_images() -> None:
    rec = record().model_copy(update={"image_urls": ("https://shop.example/a.jpg", "https://shop.example/b.jpg")})
    prepared = [PreparedImage(record=rec, ref=ref, image=Image.new("RGB", (8, 8), (n * 90, 0, 0)))
                for n, ref in enumerate(rec.images())]
    values = payloads.product_values(prepared)
    assert sum(v.count(rec.title) for v in values) == 1
    back = payloads.product_from_values(json.loads(json.dumps(values)))
    assert [p.ref for p in back.images] == rec.images() and all(p.record is back.record for p in back.images)


def test_rejection_round_trip() -> None:
    rejection = Rejection(reason="not_found", detail="gone", product_key="shop:p1", retryable=False)
    assert payloads.rejection_from_values(json.loads(json.dumps(payloads.rejection_values(rejection)))) == rejection


def test_handoff_keeps_the_pixels_and_its_reader_removes_the_file(tmp_path: Path) -> None:
    handoff = ImageHandoff(tmp_path / "handoff")
    image = Image.fromarray(np.random.default_rng(2).integers(0, 255, (48, 64, 3), dtype=np.uint8))
    rec = record()
    values = payloads.product_values([PreparedImage(record=rec, ref=rec.images()[0], image=image.convert("RGBA"))],
                                     handoff)
    assert json.loads(values[-1])[0][1].startswith("handoff:")
    [back] = payloads.product_from_values(json.loads(json.dumps(values)), handoff).images
    assert back.image.mode == "RGB" and np.array_equal(np.asarray(back.image), np.asarray(image))
    assert list(handoff.directory.iterdir()) == []
    with pytest.raises(FileNotFoundError):  # taken once only
        payloads.product_from_values(values, handoff)
    with pytest.raises(ValueError):  # a handoff name without a handoff
        payloads.product_from_values(values)
    with pytest.raises(ValueError):
        handoff.take("handoff:../../etc/passwd-1x1")


def test_sweep_removes_only_old_files(tmp_path: Path) -> None:
    handoff = ImageHandoff(tmp_path)
    old, new = (handoff.put(Image.new("RGB", (4, 4))) for _ in range(2))
    old_path = tmp_path / old.removeprefix("handoff:")
    os.utime(old_path, (time.time() - 600, time.time() - 600))
    assert handoff.sweep(older_than_s=300) == 1
    assert not old_path.exists() and handoff.take(new).size == (4, 4)


def test_handoff_is_local_with_one_worker_unless_set(tmp_path: Path) -> None:
    base = Settings(_env_file=None)  # type: ignore[call-arg]
    assert is_local(base) and build_handoff(base.model_copy(update={"handoff_dir": tmp_path})) is not None
    assert not is_local(base.model_copy(update={"topology_workers": 2}))
    assert is_local(base.model_copy(update={"topology_workers": 2, "image_handoff": "local"}))
    assert build_handoff(base.model_copy(update={"image_handoff": "inline"})) is None
    assert handoff_dir(base).name == "snapmode-handoff-snapmode-ingest"
