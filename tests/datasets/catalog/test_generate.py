"""Catalog generation: deterministic bytes, enough categories, the promised views and metadata."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image

from snapmode.datasets.catalog.generate import generate_catalog
from snapmode.datasets.catalog.spec import make_spec
from snapmode.datasets.catalog.vocabulary import CATEGORIES, PATTERNS
from tests.conftest import SMALL


def digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_the_same_bytes_whatever_the_workers(small_catalog: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_catalog(again, options=dataclasses.replace(SMALL, workers=2))
    assert digests(again) == digests(small_catalog)


def test_a_different_seed_gives_a_different_catalog(small_catalog: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate_catalog(other, options=dataclasses.replace(SMALL, seed=SMALL.seed + 1, products=5))
    mine, theirs = digests(small_catalog), digests(other)
    assert mine["catalog.jsonl"] != theirs["catalog.jsonl"]
    assert all(mine[path] != theirs[path] for path in theirs if path.endswith(".jpg"))


def test_every_product_has_its_views_as_jpegs(small_catalog: Path) -> None:
    rows = [json.loads(line) for line in (small_catalog / "catalog.jsonl").read_text().splitlines()]
    assert len(rows) == SMALL.products
    assert len({r["product_id"] for r in rows}) == SMALL.products
    for row in rows:
        assert row["images"] == [f"images/{row['product_id']}/{v}.jpg" for v in range(SMALL.views)]
        for image in row["images"]:
            with Image.open(small_catalog / image) as photo:
                assert photo.format == "JPEG" and photo.size == (SMALL.image_size, SMALL.image_size)


def test_views_of_a_product_differ(small_catalog: Path) -> None:
    first = [np.asarray(Image.open(small_catalog / f"images/SM00001/{v}.jpg"), np.float32) for v in range(3)]
    assert all(np.abs(first[0] - other).mean() > 5 for other in first[1:])


def test_the_catalog_spans_at_least_eight_categories_and_many_patterns() -> None:
    specs = [make_spec(seed=7, index=i) for i in range(300)]
    assert len(CATEGORIES) >= 8
    assert {s.category for s in specs} == {c.name for c in CATEGORIES}
    assert {s.pattern for s in specs} == set(PATTERNS)
    # Products sharing category and colour still differ in pattern or details.
    looks = {(s.category, s.colour, s.pattern, s.second_colour, s.trim_colour, s.logo, s.buttons, s.pockets,
              s.style) for s in specs}
    assert len(looks) == len(specs)


def test_metadata_describes_the_product() -> None:
    spec = make_spec(seed=7, index=3)
    assert spec.colour.lower() in spec.title.lower() and spec.category in spec.title
    assert spec.brand in spec.description and spec.price > 0 and spec.currency == "EUR"
    assert spec.availability in {"InStock", "OutOfStock"}


def test_regenerating_into_a_catalog_replaces_it(tmp_path: Path) -> None:
    generate_catalog(tmp_path, options=dataclasses.replace(SMALL, products=4))
    generate_catalog(tmp_path, options=dataclasses.replace(SMALL, products=2))
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == ["SM00001", "SM00002"]
    assert len((tmp_path / "catalog.jsonl").read_text().splitlines()) == 2
