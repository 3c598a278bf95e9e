"""Reading catalogs and folders back, and turning their products into `ProductRecord`s."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from snapmode.pipeline.manifest import CatalogError, catalog_records, folder_records, load_catalog, to_record
from snapmode.pipeline.steps import Rejection
from snapmode.records import ProductRecord
from tests.conftest import SMALL, jpeg_bytes


def test_manifest_round_trip(small_catalog: Path) -> None:
    rows = [json.loads(line) for line in (small_catalog / "catalog.jsonl").read_text().splitlines()]
    products = load_catalog(small_catalog)
    assert [p.product_id for p in products] == [r["product_id"] for r in rows]
    for product, row in zip(products, rows):
        assert product.model_dump(include=set(row)) == {**row, "images": tuple(row["images"]),
                                                        "colour_rgb": tuple(row["colour_rgb"])}
        assert all(path.is_file() for path in product.image_paths(small_catalog))


def test_a_catalog_product_becomes_a_record(small_catalog: Path) -> None:
    product = load_catalog(small_catalog)[0]
    record = to_record(product, small_catalog, site="my-shop")
    assert isinstance(record, ProductRecord)
    assert (record.site, record.product_id, record.title) == ("my-shop", product.product_id, product.title)
    assert (record.category, record.colour, record.price, record.currency) == (
        product.category, product.colour, product.price, product.currency)
    assert len(record.image_urls) == SMALL.views
    assert all(url.startswith("file:///") and Path(url[7:]).is_file() for url in record.image_urls)
    shop = to_record(product, small_catalog, base_url="http://127.0.0.1:9000/")
    assert shop.url == f"http://127.0.0.1:9000/product/{product.product_id}.html"


def test_a_malformed_manifest_line_is_rejected_and_the_rest_read(small_catalog: Path, tmp_path: Path) -> None:
    lines = (small_catalog / "catalog.jsonl").read_text().splitlines()
    (tmp_path / "catalog.jsonl").write_text("\n".join([lines[0], '{"product_id": "x"}', "not json", lines[1]]))
    items = list(catalog_records(tmp_path))
    assert [type(i) for i in items] == [ProductRecord, Rejection, Rejection, ProductRecord]
    assert "catalog.jsonl:2" in items[1].detail
    with pytest.raises(CatalogError, match="catalog.jsonl:2"):
        load_catalog(tmp_path)


def test_missing_manifest_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no catalog.jsonl"):
        load_catalog(tmp_path)


def test_a_folder_of_product_dirs_reads_as_records(tmp_path: Path) -> None:
    for name, count in (("boot-1", 2), ("bag-7", 1)):
        (tmp_path / name).mkdir()
        for i in range(count):
            (tmp_path / name / f"{i}.jpg").write_bytes(jpeg_bytes())
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("not a product")
    items = list(folder_records(tmp_path, site="local"))
    records = [i for i in items if isinstance(i, ProductRecord)]
    assert [(r.product_id, r.title, len(r.image_urls)) for r in records] == [("bag-7", "bag-7", 1),
                                                                            ("boot-1", "boot-1", 2)]
    assert [i.reason for i in items if isinstance(i, Rejection)] == ["no_images"]
