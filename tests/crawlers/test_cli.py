"""`snapmode crawl` as a user runs it: its own process, live progress on stderr, a summary, records in --out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from snapmode.pipeline.sources import read_records_jsonl
from tests.crawlers.shops import Shop, fill_base, microdata_shop, serve_images


@pytest.fixture
def shop() -> Iterator[Shop]:
    shop = fill_base(microdata_shop().start())
    yield shop
    shop.stop()


def snapmode(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SNAPMODE_DATA_DIR": str(cwd / "data"), "SNAPMODE_ENV_FILE": str(cwd / "none.env"),
           "SNAPMODE_REDIS_URL": ""}
    return subprocess.run([sys.executable, "-m", "snapmode.cli.main", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_crawl_a_config_into_a_jsonl_file(shop: Shop, tmp_path: Path) -> None:
    config = tmp_path / "knit.yaml"
    config.write_text(yaml.safe_dump({"name": "knit", "start_urls": [shop.url("/")], "allow_private": True,
                                      "rate": {"download_delay_s": 0, "autothrottle": False}}))
    out = tmp_path / "records.jsonl"
    done = snapmode("crawl", str(config), "--out", str(out), cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert sorted(r.product_id for r in read_records_jsonl(out)) == ["MD-1", "MD-2", "MD-3"]
    assert "Crawl of knit" in done.stderr and "products sent" in done.stderr and "crawling knit" in done.stderr


def test_crawl_a_url_needs_allow_private_on_loopback(shop: Shop, tmp_path: Path) -> None:
    out = tmp_path / "records.jsonl"
    refused = snapmode("crawl", shop.url("/"), "--out", str(out), "--json", cwd=tmp_path)
    allowed = snapmode("crawl", shop.url("/"), "--out", str(out), "--json", "--allow-private", "--max-pages", "50",
                       cwd=tmp_path)

    assert refused.returncode == 0 and json.loads(refused.stdout)["errors"] == {"private_address": 2}
    summary = json.loads(allowed.stdout)
    assert (summary["products_sent"], summary["images_sent"], summary["errors"]) == (3, 4, {})


def test_a_missing_config_is_a_usage_error(tmp_path: Path) -> None:
    done = snapmode("crawl", str(tmp_path / "nope.yaml"), cwd=tmp_path)
    assert done.returncode == 2 and "neither a site config file nor an http(s) URL" in done.stderr


def test_allow_private_reaches_the_image_fetch_of_the_embedded_index(shop: Shop, tmp_path: Path) -> None:
    """A staging shop on loopback, crawled straight into the embedded index: pages and images are fetched alike."""
    serve_images(shop, ["/img/md-1-l.jpg", "/img/md-1-back.jpg", "/img/md-2@2x.jpg", "/img/md-3.jpg"])
    done = snapmode("crawl", shop.url("/"), "--allow-private", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    said = " ".join(done.stderr.replace("│", " ").split())
    assert "images indexed 4" in said and "images refused 0" in said, said
    assert "private_address" not in said
    dead_letters = tmp_path / "data" / "dead-letter.jsonl"
    assert not dead_letters.exists() or not dead_letters.read_text().strip()

    from snapmode.stores.sqlite import SqliteMetadataStore

    store = SqliteMetadataStore(tmp_path / "data" / "metadata.sqlite")
    try:
        keys = {record.key for record in store.query(limit=10)}
    finally:
        store.close()
    assert keys == {f"127.0.0.1-{shop.server.port}:{pid}" for pid in ("MD-1", "MD-2", "MD-3")}  # one ":" a key
