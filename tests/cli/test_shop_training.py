"""`snapmode train` on a shop's own products: the sample shop served over loopback, its records as a crawl's .jsonl
or in the metadata store, images fetched into the cache, the new checkpoint scored beside the shipped model."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from snapmode.datasets.catalog.generate import GenerateOptions, generate_catalog
from snapmode.datasets.catalog.site import render_site
from snapmode.model.config import CbirGanConfig
from snapmode.pipeline.manifest import load_catalog, product_page
from snapmode.records import ProductRecord
from tests.loopback import LoopbackServer, directory_handler

runner = CliRunner()
PRODUCTS, VIEWS = 10, 3
TINY = CbirGanConfig(image_size=32, z_dim=16, decoder_width=32, disc_width=8, pretrained_encoder=False,
                     w_perceptual=0.0, epochs=1, batch_size=8, val_fraction=0.0, lr=1e-3)


class Shop:
    """The sample catalog's site on a loopback port, counting the requests for each path."""

    def __init__(self, root: Path) -> None:
        self.hits: Counter[str] = Counter()
        hits = self.hits

        class Counting(directory_handler(root / "site")):  # type: ignore[misc]
            def do_GET(self) -> None:  # noqa: N802
                hits[self.path] += 1
                super().do_GET()

        self.server = LoopbackServer(Counting)
        self.base = self.server.base + "/"
        render_site(root, base_url=self.base)
        self.products = load_catalog(root)

    def records(self, site: str = "sample-shop") -> list[ProductRecord]:
        return [ProductRecord(site=site, product_id=p.product_id, url=self.base + product_page(p.product_id),
                              title=p.title, image_urls=tuple(self.base + image for image in p.images))
                for p in self.products]

    def image_hits(self) -> int:
        """Requests for the catalog's photos."""
        photos = {"/" + image for p in self.products for image in p.images}
        return sum(n for path, n in self.hits.items() if path in photos)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    root = tmp_path_factory.mktemp("shop")
    generate_catalog(root, options=GenerateOptions(products=PRODUCTS, views=VIEWS, seed=3, image_size=64, workers=1))
    (root / "site").mkdir()
    shop = Shop(root)
    (root / "site" / "broken.jpg").write_bytes(b"this is not a picture")
    yield shop
    shop.server.close()


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.json"
    path.write_text(TINY.to_json())
    return path


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def train(*args: str) -> object:
    return runner.invoke(_app(), ["train", "--epochs", "1", "--device", "cpu", "--no-progress", *args])


def _app():  # type: ignore[no-untyped-def]
    from snapmode.cli.main import app

    return app


def flat(output: str) -> str:
    return " ".join(output.replace("│", " ").split())


def test_a_crawl_trains_with_bad_images_skipped_and_a_second_run_fetches_nothing(shop, tiny, tmp_path, cli_env,
                                                                                  monkeypatch):
    cli_env(DATA_DIR=tmp_path / "data")
    # 127.0.0.1 stands for the shop's public address; "localhost" for a private one, refused without --allow-private
    monkeypatch.setattr("snapmode.pipeline.addresses.is_public_address", lambda address: address.is_loopback)
    monkeypatch.setattr("snapmode.pipeline.addresses.system_resolver", lambda host, port: ["10.0.0.7"])  # localhost
    bad = ProductRecord(site="sample-shop", product_id="bad", url=shop.base, title="Bad images", image_urls=(
        shop.base + "broken.jpg", shop.base + "images/missing.jpg", "http://127.0.0.1:1/closed.jpg",
        shop.base.replace("127.0.0.1", "localhost") + shop.products[0].images[0]))
    crawl = write_jsonl(tmp_path / "crawl.jsonl",
                        [r.to_json() for r in shop.records()] + [bad.to_json(), '{"site": "sample-shop", "oops"'])
    out = tmp_path / "tuned"

    result = train("--data", str(crawl), "--out", str(out), "--config", str(tiny))
    assert result.exit_code == 0, result.output
    assert (out / "model.safetensors").is_file()
    assert shop.image_hits() == PRODUCTS * VIEWS
    report = flat(result.stderr)
    for reason in ("not_an_image 1", "http_error 1", "unreachable 1", "private_address 1", "invalid_record 1"):
        assert f"skipped: {reason}" in report
    assert "images fetched 30" in report and "products without a usable image 1" in report
    assert "training on 10 products, 20 images" in report  # each product's last view is held out
    table = result.stdout
    assert f"{PRODUCTS} queries" in flat(table) and "P@1" in table and "mAP@10" in table and "R@10" in table
    rows = {line.split("│")[1].strip() for line in table.splitlines() if line.count("│") == 5}
    assert rows == {"new", "current (shipped cbir-gan)", "new - current"}
    assert f"SNAPMODE_MODEL_CHECKPOINT={out}" in flat(table)

    before = sum(shop.hits.values())
    result = train("--data", str(crawl), "--out", str(tmp_path / "again"), "--config", str(tiny), "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert shop.image_hits() == PRODUCTS * VIEWS  # the shop's photos came from the cache
    assert sum(shop.hits.values()) - before == 2  # only the two refused images the shop served were asked again
    assert metrics["images"]["images_cached"] == PRODUCTS * VIEWS and metrics["images"]["images_fetched"] == 0
    assert metrics["images"]["skipped_by_reason"] == {"not_an_image": 1, "http_error": 1, "unreachable": 1,
                                                      "private_address": 1, "invalid_record": 1}
    held_out = metrics["held_out"]
    assert (held_out["queries"], held_out["gallery"]) == (PRODUCTS, PRODUCTS * (VIEWS - 1))
    for name in ("new", "current"):
        assert all(0.0 <= held_out[name][m] <= 1.0 for m in ("p@1", "map@10", "r@10"))
    assert held_out["current"]["p@1"] >= 0.5  # the shipped model finds most products on this catalog


def test_the_metadata_store_with_http_images_trains(shop, tiny, tmp_path, cli_env):
    from snapmode.stores.sqlite import SqliteMetadataStore

    cli_env(DATA_DIR=tmp_path / "data")
    store = SqliteMetadataStore(tmp_path / "data" / "metadata.sqlite")
    store.upsert(shop.records(site="staging"))
    store.close()
    result = train("--dataset", "store", "--out", str(tmp_path / "tuned"), "--config", str(tiny), "--json")
    assert result.exit_code == 2 and "--allow-private" in flat(result.stderr)  # loopback: refused by default
    assert "private_address 30" in flat(result.stderr)

    result = train("--dataset", "store", "--allow-private", "--out", str(tmp_path / "tuned"), "--config", str(tiny),
                   "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["images"]["products"] == PRODUCTS and metrics["held_out"]["queries"] == PRODUCTS


def test_a_catalog_too_small_to_hold_out_views_is_refused_before_training(shop, tiny, tmp_path, cli_env):
    cli_env(DATA_DIR=tmp_path / "data", ALLOW_PRIVATE_URLS="true")
    records = shop.records()
    one_view = [r.model_copy(update={"image_urls": r.image_urls[:1]}) for r in records[1:]]
    crawl = write_jsonl(tmp_path / "crawl.jsonl", [records[0].to_json()] + [r.to_json() for r in one_view])
    result = train("--data", str(crawl), "--out", str(tmp_path / "x"), "--config", str(tiny))
    assert result.exit_code == 2
    assert "1 product(s) with two or more usable images: at least 2 are needed" in flat(result.output)
    assert not (tmp_path / "x").exists()


def test_fewer_products_than_a_batch_takes_are_refused_with_the_batch_size_that_fits(shop, tiny, tmp_path, cli_env):
    cli_env(DATA_DIR=tmp_path / "data", ALLOW_PRIVATE_URLS="true")
    crawl = write_jsonl(tmp_path / "crawl.jsonl", [r.to_json() for r in shop.records()[:3]])
    result = train("--data", str(crawl), "--out", str(tmp_path / "x"), "--config", str(tiny), "--batch-size", "16")
    assert result.exit_code == 2
    assert ("3 products to train on, but a batch of 16 images takes 8 products of 2 views: lower --batch-size to 6"
            in flat(result.output))
    assert not (tmp_path / "x").exists()


def test_a_current_checkpoint_that_is_not_one_is_refused_before_fetching(shop, tiny, tmp_path, cli_env):
    cli_env(DATA_DIR=tmp_path / "data", MODEL_CHECKPOINT=tmp_path / "nowhere")
    crawl = write_jsonl(tmp_path / "crawl.jsonl", [r.to_json() for r in shop.records()])
    before = shop.image_hits()
    result = train("--data", str(crawl), "--out", str(tmp_path / "x"), "--config", str(tiny), "--allow-private")
    assert result.exit_code == 2 and "SNAPMODE_MODEL_CHECKPOINT" in flat(result.output)
    assert shop.image_hits() == before


def test_eval_points_a_shop_source_to_train(tmp_path):
    result = runner.invoke(_app(), ["eval", "--data", str(tmp_path / "crawl.jsonl"), "--dataset", "records"])
    assert result.exit_code == 2 and "is for train" in flat(result.output)
