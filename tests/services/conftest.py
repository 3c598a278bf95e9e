"""An API over real embedded stores (milvus-lite, SQLite) holding a small indexed catalog, and the real backbone."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from snapmode.config import Settings
from snapmode.model.backbone import BackboneEmbedder
from snapmode.platform import Platform
from snapmode.records import ProductRecord
from snapmode.services.app import create_app
from snapmode.stores.factory import build_stores

SITE = "test-shop"
# name -> (category, colour name, rgb, shape); each product is drawn in a few views, the last one held out.
PRODUCTS = {
    "red-disc": ("hat", "red", (210, 30, 40), "disc"),
    "blue-stripes": ("t-shirt", "blue", (30, 60, 200), "stripes"),
    "green-checks": ("dress", "green", (40, 160, 60), "checks"),
    "yellow-triangle": ("bag", "yellow", (230, 200, 30), "triangle"),
    "black-ring": ("hat", "black", (20, 20, 20), "ring"),
    "orange-bars": ("shoe", "orange", (240, 120, 20), "bars"),
}
VIEWS = 3
MAX_IMAGE_BYTES = 200_000


def draw(shape: str, rgb: tuple[int, int, int], view: int, size: int = 128) -> Image.Image:
    """One view of a product: its pattern, shifted, scaled and rotated a little per view."""
    image = Image.new("RGB", (size, size), (250, 250, 248))
    pen = ImageDraw.Draw(image)
    m = 14 + 6 * view
    if shape == "disc":
        pen.ellipse((m, m, size - m, size - m), fill=rgb)
    elif shape == "ring":
        pen.ellipse((m, m, size - m, size - m), outline=rgb, width=12)
    elif shape == "triangle":
        pen.polygon([(size // 2, m), (size - m, size - m), (m, size - m)], fill=rgb)
    elif shape == "stripes":
        for y in range(m, size - m, 16):
            pen.rectangle((m, y, size - m, y + 7), fill=rgb)
    elif shape == "bars":
        for x in range(m, size - m, 22):
            pen.rectangle((x, m, x + 11, size - m), fill=rgb)
    elif shape == "checks":
        for i, y in enumerate(range(m, size - m, 12)):
            for j, x in enumerate(range(m, size - m, 12)):
                if (i + j) % 2 == 0:
                    pen.rectangle((x, y, x + 11, y + 11), fill=rgb)
    return image.rotate(8 * view - 8, fillcolor=(250, 250, 248))


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


@dataclass
class Catalog:
    root: Path
    records: dict[str, ProductRecord]  # by product id
    held_out: dict[str, bytes]  # product id -> JPEG of the view that was not indexed


def make_catalog(root: Path) -> Catalog:
    records, held_out = {}, {}
    for pid, (category, colour, rgb, shape) in PRODUCTS.items():
        folder = root / pid
        folder.mkdir(parents=True)
        urls = []
        for view in range(VIEWS - 1):
            path = folder / f"{view}.jpg"
            path.write_bytes(jpeg(draw(shape, rgb, view)))
            urls.append(path.as_uri())
        held_out[pid] = jpeg(draw(shape, rgb, VIEWS - 1))
        records[pid] = ProductRecord(site=SITE, product_id=pid, url=f"https://shop.example/p/{pid}",
                                     title=f"{colour.title()} {shape} {category}", brand="Testwear",
                                     category=category, colour=colour, price=10.0 + len(pid), currency="EUR",
                                     description=f"A {colour} {category} with a {shape} pattern.",
                                     image_urls=tuple(urls))
    (root / "records.jsonl").write_text("".join(r.to_json() + "\n" for r in records.values()))
    return Catalog(root=root, records=records, held_out=held_out)


@pytest.fixture(scope="session")
def embedder() -> BackboneEmbedder:
    return BackboneEmbedder(device="cpu", batch_size=16)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return make_catalog(tmp_path_factory.mktemp("catalog"))


@pytest.fixture(scope="module")
def api_settings(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog, embedder: BackboneEmbedder) -> Settings:
    """Settings of an API whose data dir already holds the indexed catalog (ingested by the real runner)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), max_image_bytes=MAX_IMAGE_BYTES,  # type: ignore[call-arg]
                        allow_private_urls=True, device="cpu", _env_file=None)
    vectors, metadata = build_stores(settings, embedder.dim)
    platform = Platform(settings=settings, embedder=embedder, vectors=vectors, metadata=metadata)
    report = platform.runner().run(catalog.records.values())
    platform.close()
    assert report.images_indexed == len(PRODUCTS) * (VIEWS - 1), json.dumps(report.as_dict())
    return settings


@pytest.fixture(scope="module")
def client(api_settings: Settings, embedder: BackboneEmbedder) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings, embedder=embedder)) as client:
        yield client
