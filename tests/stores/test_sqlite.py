"""The SQLite metadata store's text index: one text row per product, under the product's own rowid, through updates,
deletions and the upgrade of a database whose text rows were numbered apart from their products."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

from snapmode.stores.sqlite import SqliteMetadataStore
from tests.stores.test_contracts import record

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def titled(pid: str, title: str, minutes: int = 0):  # type: ignore[no-untyped-def]
    return record(pid, title=title, crawled_at=(T0 + timedelta(minutes=minutes)).isoformat())


def found(store: SqliteMetadataStore, text: str) -> list[str]:
    return [r.product_id for r in store.query(text)]


def text_rows(path: Path) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(rowid, key) of the products and of the text rows, in rowid order."""
    db = sqlite3.connect(path)
    try:
        return (db.execute("SELECT rowid, key FROM products ORDER BY rowid").fetchall(),
                db.execute("SELECT rowid, key FROM products_fts ORDER BY rowid").fetchall())
    finally:
        db.close()


def test_text_rows_follow_updates_and_deletions(tmp_path: Path) -> None:
    path = tmp_path / "metadata.sqlite"
    store = SqliteMetadataStore(path)
    store.upsert([titled("a", "red wool sweater"), titled("b", "blue cotton shirt"), titled("c", "black boots")])
    store.upsert([titled("a", "green silk scarf", minutes=5)])
    store.upsert([titled("a", "red wool sweater")])  # an older version: refused, its words stay out
    store.delete(["shop:b"], at=T0 + timedelta(minutes=1))

    assert found(store, "wool") == [] and found(store, "cotton") == []
    assert found(store, "silk") == ["a"] and found(store, "boots") == ["c"]
    products, texts = text_rows(path)
    assert products == texts == [(products[0][0], "shop:a"), (products[1][0], "shop:c")]
    store.close()


def test_an_older_database_gets_its_text_rows_renumbered(tmp_path: Path) -> None:
    path = tmp_path / "metadata.sqlite"
    store = SqliteMetadataStore(path)
    store.upsert([titled("a", "red wool sweater"), titled("b", "blue cotton shirt")])
    store.close()
    old = sqlite3.connect(path)  # text rows numbered on their own, as before; the version says so
    old.execute("UPDATE products_fts SET rowid = rowid + 100")
    old.execute("PRAGMA user_version = 0")
    old.commit()
    old.close()

    store = SqliteMetadataStore(path)
    store.upsert([titled("a", "green silk scarf", minutes=5)])
    assert found(store, "wool") == [] and found(store, "silk") == ["a"] and found(store, "cotton") == ["b"]
    products, texts = text_rows(path)
    assert products == texts and len(products) == 2
    store.close()
