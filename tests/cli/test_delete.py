"""`snapmode delete KEY...`: embedded, the stores lose the products at once; on a cluster, tombstones are published
to the records topic for the topology."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from snapmode.cli import delete as delete_cli
from snapmode.cli.main import app
from snapmode.config import get_settings
from snapmode.interfaces import VectorItem
from snapmode.platform import embedder_dim
from snapmode.queue.memory import MemoryBroker
from snapmode.records import ProductRecord, Tombstone, parse_versioned
from snapmode.stores.factory import build_stores


def record(pid: str) -> ProductRecord:
    return ProductRecord(site="shop", product_id=pid, url=f"https://shop.example/{pid}", title=pid,
                         image_urls=(f"https://shop.example/{pid}/0.jpg", f"https://shop.example/{pid}/1.jpg"),
                         crawled_at=datetime(2026, 1, 1, tzinfo=timezone.utc))


def test_embedded_delete_empties_both_stores(tmp_path: Path, cli_env: Callable[..., None]) -> None:
    cli_env(DATA_DIR=tmp_path / "data")
    settings = get_settings()
    dim = embedder_dim(settings)
    vectors, metadata = build_stores(settings, dim)
    records = [record("a"), record("b")]
    metadata.upsert(records)
    vectors.upsert([VectorItem.from_record(r, ref.image_id, np.ones(dim, np.float32) / np.sqrt(dim))
                    for r in records for ref in r.images()])
    vectors.close()
    metadata.close()

    done = CliRunner().invoke(app, ["delete", "shop:a", "shop:never-listed", "--yes"])

    assert done.exit_code == 0, done.output
    assert "shop:a\tdeleted" in done.output and "deleted 2 of 2 products" in done.output
    vectors, metadata = build_stores(settings, dim)
    try:
        assert metadata.get(["shop:a", "shop:b"]).keys() == {"shop:b"}
        assert vectors.images_of(["shop:a", "shop:b"]).keys() == {"shop:b"} and vectors.count() == 2
        assert metadata.upsert([record("a")]) == []  # its tombstone refuses the older record
    finally:
        vectors.close()
        metadata.close()


def test_a_key_without_a_site_is_a_usage_error(tmp_path: Path, cli_env: Callable[..., None]) -> None:
    cli_env(DATA_DIR=tmp_path / "data")
    done = CliRunner().invoke(app, ["delete", "no-site", "--yes"])
    assert done.exit_code == 2 and "site:product_id" in done.output


def test_on_a_cluster_tombstones_go_to_the_records_topic(tmp_path: Path, cli_env: Callable[..., None],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    cli_env(DATA_DIR=tmp_path / "data", MODE="cluster", MILVUS_URI="http://127.0.0.1:9",
            SOLR_URL="http://127.0.0.1:9/solr/p")
    broker = MemoryBroker()
    monkeypatch.setattr("snapmode.queue.kafka.KafkaProducerQueue", lambda settings: broker.producer())
    monkeypatch.setattr(delete_cli, "delete_here", lambda *a: pytest.fail("a cluster's stores are the topology's"))

    done = CliRunner().invoke(app, ["delete", "shop:a", "shop:b", "shop:a", "--yes", "--json"])

    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout.splitlines()[0]) == {"published": 2, "topic": get_settings().records_topic,
                                                       "keys": ["shop:a", "shop:b"]}
    sent = broker.topics[get_settings().records_topic]
    assert [m.key for m in sent] == ["shop:a", "shop:b"]
    assert all(isinstance(t := parse_versioned(m.value), Tombstone) and t.reason == "operator" for m in sent)


def test_delete_asks_first_and_a_no_deletes_nothing(tmp_path: Path, cli_env: Callable[..., None],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    cli_env(DATA_DIR=tmp_path / "data")
    monkeypatch.setattr(delete_cli, "delete_here", lambda *a: pytest.fail("answered no"))
    done = CliRunner().invoke(app, ["delete", "shop:a"], input="n\n")
    assert done.exit_code == 1 and "delete 1 products (shop:a)?" in done.output


def test_embedded_delete_as_json(tmp_path: Path, cli_env: Callable[..., None]) -> None:
    cli_env(DATA_DIR=tmp_path / "data")
    done = CliRunner().invoke(app, ["delete", "shop:a", "--yes", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout.splitlines()[0]) == {"deleted": ["shop:a"], "kept": []}
