"""The embedded platform end to end, through the command line, with the configured real embedder.

A sample catalog is generated; every view but the last of each product goes into a `<product_id>/*.jpg` folder (with
one broken file among them); `snapmode ingest` indexes the folder; each held-out view must find its own product.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from snapmode.cli.main import app
from snapmode.config import get_settings
from snapmode.datasets.catalog.generate import generate_catalog
from snapmode.pipeline.manifest import load_catalog
from snapmode.platform import Platform

pytestmark = pytest.mark.slow

PRODUCTS, VIEWS, SEED = 80, 3, 31
MIN_TOP1 = 0.90


@pytest.fixture
def data_dir(tmp_path: Path, cli_env) -> Path:  # type: ignore[no-untyped-def]
    """The data dir, private to the test, of the `snapmode` commands it runs."""
    cli_env(DATA_DIR=tmp_path / "data")
    return tmp_path / "data"


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("catalog")
    generate_catalog(root, products=PRODUCTS, views=VIEWS, seed=SEED)
    return root


def split_folder(catalog: Path, folder: Path) -> dict[str, Path]:
    """Copy all views but the last into `folder/<product_id>/`; returns the held-out view of each product."""
    held_out = {}
    for product in load_catalog(catalog):
        *indexed, query = product.image_paths(catalog)
        (folder / product.product_id).mkdir(parents=True)
        for path in indexed:
            shutil.copy(path, folder / product.product_id / path.name)
        held_out[product.product_id] = query
    return held_out


def test_held_out_views_find_their_product(catalog: Path, data_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    held_out = split_folder(catalog, folder)
    first = next(iter(held_out))
    (folder / first / "broken.jpg").write_text("<html>not a photo</html>")

    report = json.loads(invoke("ingest", str(folder), "--site", "photos", "--json"))
    assert report["images_indexed"] == PRODUCTS * (VIEWS - 1)
    assert report["images_rejected"] == 1 and report["records"] == PRODUCTS

    results = json.loads(invoke("search", str(held_out[first]), "--k", "3", "--json"))
    assert len(results) == 3 and {"product_id", "score", "title"} <= results[0].keys()
    assert results[0]["score"] >= results[1]["score"] >= results[2]["score"]

    platform = Platform.build(get_settings())  # the same stores and embedder the commands used
    try:
        ranked_first = sum(platform.search.search_image(query.read_bytes(), k=1)[0].product_id == product_id
                           for product_id, query in held_out.items())
    finally:
        platform.close()
    top1 = ranked_first / len(held_out)
    print(f"\nheld-out views ranked first: {top1:.1%} of {len(held_out)} ({platform.embedder.name} embedder)")
    assert top1 >= MIN_TOP1


def test_demo_without_serving_indexes_the_sample_catalog_once(data_dir: Path) -> None:
    first = CliRunner().invoke(app, ["demo", "--no-serve", "--products", "6", "--views", "2", "--seed", "3"])
    assert first.exit_code == 0, first.output
    assert (data_dir / "catalog" / "catalog.jsonl").is_file()
    assert "images_per_s" in first.output and "images_indexed" in first.output

    platform = Platform.build(get_settings())
    try:
        assert platform.vectors.count() == 12 and platform.metadata.count() == 6
    finally:
        platform.close()

    again = CliRunner().invoke(app, ["demo", "--no-serve"])  # the catalog exists: nothing is generated or embedded
    assert again.exit_code == 0, again.output
    assert "generating" not in again.output
