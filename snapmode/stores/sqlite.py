"""`MetadataStore` in one SQLite file, with FTS5 full-text search over title, brand and description.

Each product keeps its version (`crawled_at`) and each deletion its tombstone, so an older replay never wins; the
version check and the write share one `BEGIN IMMEDIATE` transaction.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

from snapmode.interfaces import FACET_FIELDS, Facets, SearchFilter, StoreUnavailable, sorted_facet
from snapmode.records import ProductRecord, as_utc
from snapmode.stores.versions import deleting, replacing

_SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
    key TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    product_id TEXT NOT NULL,
    category TEXT,
    brand TEXT,
    colour TEXT,
    price REAL,
    crawled_at TEXT NOT NULL,
    record TEXT NOT NULL,
    duplicate_of TEXT
);
CREATE INDEX IF NOT EXISTS products_category ON products(category);
CREATE INDEX IF NOT EXISTS products_site ON products(site);
CREATE VIRTUAL TABLE IF NOT EXISTS products_fts USING fts5(key UNINDEXED, title, brand, description);
CREATE TABLE IF NOT EXISTS tombstones (key TEXT PRIMARY KEY, deleted_at TEXT NOT NULL);
"""
# Columns added since the first schema, with their definitions: a database made before gets them when opened.
_ADDED_COLUMNS = {"duplicate_of": "TEXT"}
# A product's text row has the product's rowid (kept by updates), so it is found through the key's index: FTS5 has
# none on `key`, and deleting by key would read the whole text index once per product.
_FTS_ROWIDS = 1  # PRAGMA user_version from which the text rows follow that rule
_DELETE_TEXT = "DELETE FROM products_fts WHERE rowid = (SELECT rowid FROM products WHERE key = ?)"
_INSERT_TEXT = ("INSERT INTO products_fts (rowid, key, title, brand, description) "
                "SELECT rowid, key, ?, ?, ? FROM products WHERE key = ?")
_UPSERT = ("INSERT INTO products (key, site, product_id, category, brand, colour, price, crawled_at, record, "
           "duplicate_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET site = excluded.site, "
           "product_id = excluded.product_id, category = excluded.category, brand = excluded.brand, "
           "colour = excluded.colour, price = excluded.price, crawled_at = excluded.crawled_at, "
           "record = excluded.record, duplicate_of = excluded.duplicate_of")


def _text_values(record: ProductRecord) -> tuple[str, str, str, str]:
    return record.title, record.brand or "", record.description or "", record.key


def _fts_query(text: str) -> str:
    """Each word of free text as a quoted prefix term, so user input never reaches FTS5 syntax."""
    words = re.findall(r"\w+", text.lower())
    return " ".join(f'"{w}"*' for w in words)


def _key_chunks(keys: Sequence[str], size: int = 500) -> Iterator[tuple[list[str], str]]:
    """`keys` (each once) `size` at a time, each chunk with its `?` placeholders for an `IN (...)`."""
    keys = list(dict.fromkeys(keys))
    for start in range(0, len(keys), size):
        chunk = keys[start:start + size]
        yield chunk, ",".join("?" * len(chunk))


def _filter_sql(where: SearchFilter | None, prefix: str = "p.") -> tuple[str, list[object]]:
    """The SQL condition of a filter (empty for none) and its parameters."""
    if where is None:
        return "", []
    clauses, params = [], []
    for name in ("site", "category", "brand", "colour"):
        if (value := getattr(where, name)) is not None:
            clauses.append(f"{prefix}{name} = ?")
            params.append(value)
    if where.price_min is not None:
        clauses.append(f"{prefix}price >= ?")
        params.append(where.price_min)
    if where.price_max is not None:
        clauses.append(f"{prefix}price <= ?")
        params.append(where.price_max)
    return " AND ".join(clauses), params


class SqliteMetadataStore:
    """Product records keyed by `site:product_id`; safe to share between threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite store at {self.path} unusable: {exc}") from exc

    def _migrate(self) -> None:
        """Bring an older database up to date, each step in one transaction: the columns it lacks (NULL in its rows),
        then text rows under their products' rowids."""
        have = {row[1] for row in self._db.execute("PRAGMA table_info(products)")}
        missing = {name: kind for name, kind in _ADDED_COLUMNS.items() if name not in have}
        if missing:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                have = {row[1] for row in self._db.execute("PRAGMA table_info(products)")}  # another process may have
                for name, kind in missing.items():
                    if name not in have:
                        self._db.execute(f"ALTER TABLE products ADD COLUMN {name} {kind}")
        if self._db.execute("PRAGMA user_version").fetchone()[0] < _FTS_ROWIDS:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                if self._db.execute("PRAGMA user_version").fetchone()[0] < _FTS_ROWIDS:
                    self._db.execute("DELETE FROM products_fts")
                    self._db.executemany(_INSERT_TEXT, (_text_values(ProductRecord.from_json(record))
                                                        for (record,) in self._db.execute("SELECT record FROM products")
                                                        .fetchall()))
                    self._db.execute(f"PRAGMA user_version = {_FTS_ROWIDS}")

    def upsert(self, records: Sequence[ProductRecord],
               duplicates: Mapping[str, str] | None = None) -> list[ProductRecord]:
        marks = duplicates or {}
        if not records:
            return []
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            fresh = replacing(records, *self._stored([r.key for r in records]))
            keys = [(r.key,) for r in fresh]
            self._db.executemany(_DELETE_TEXT, keys)
            self._db.executemany("DELETE FROM tombstones WHERE key = ?", keys)
            self._db.executemany(_UPSERT, [(r.key, r.site, r.product_id, r.category, r.brand, r.colour, r.price,
                                            r.crawled_at.isoformat(), r.to_json(), marks.get(r.key)) for r in fresh])
            self._db.executemany(_INSERT_TEXT, [_text_values(r) for r in fresh])
        return fresh

    def versions(self, keys: Sequence[str]) -> dict[str, datetime]:
        with self._lock:
            live, deleted = self._stored(keys)
        return {**deleted, **live}

    def _stored(self, keys: Sequence[str]) -> tuple[dict[str, datetime], dict[str, datetime]]:
        """(versions of the live products, times of the tombstones) among `keys`; the caller holds the lock."""
        live: dict[str, datetime] = {}
        deleted: dict[str, datetime] = {}
        for chunk, marks in _key_chunks(keys):
            for key, at in self._db.execute(f"SELECT key, crawled_at FROM products WHERE key IN ({marks})", chunk):
                live[key] = as_utc(datetime.fromisoformat(at))
            for key, at in self._db.execute(f"SELECT key, deleted_at FROM tombstones WHERE key IN ({marks})", chunk):
                deleted[key] = as_utc(datetime.fromisoformat(at))
        return live, deleted

    def get(self, keys: Sequence[str]) -> dict[str, ProductRecord]:
        if not keys:
            return {}
        marks = ",".join("?" * len(keys))
        with self._lock:
            rows = self._db.execute(f"SELECT key, record FROM products WHERE key IN ({marks})", list(keys)).fetchall()
        return {key: ProductRecord.from_json(record) for key, record in rows}

    def duplicate_marks(self, keys: Sequence[str]) -> dict[str, str | None]:
        marks: dict[str, str | None] = {}
        with self._lock:
            for chunk, placeholders in _key_chunks(keys):
                marks.update(self._db.execute(f"SELECT key, duplicate_of FROM products WHERE key IN ({placeholders})",
                                              chunk).fetchall())
        return marks

    def query(self, text: str | None = None, where: SearchFilter | None = None, limit: int = 20,
              offset: int = 0) -> list[ProductRecord]:
        match = _fts_query(text) if text else ""
        filters, params = _filter_sql(where)
        sql = "SELECT p.record FROM products p"
        clauses = []
        if match:
            sql += " JOIN products_fts f ON f.key = p.key"
            clauses.append("products_fts MATCH ?")
        if filters:
            clauses.append(filters)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += (" ORDER BY bm25(products_fts), p.key" if match else " ORDER BY p.key") + " LIMIT ? OFFSET ?"
        with self._lock:
            rows = self._db.execute(sql, [*([match] if match else []), *params, limit, offset]).fetchall()
        return [ProductRecord.from_json(row[0]) for row in rows]

    def facets(self, where: SearchFilter | None = None) -> Facets:
        filters, params = _filter_sql(where, prefix="")
        condition = f" WHERE {filters}" if filters else ""
        counts: dict[str, dict[str, int]] = {}
        with self._lock:
            for facet, column in FACET_FIELDS.items():
                rows = self._db.execute(f"SELECT {column}, COUNT(*) FROM products{condition} "
                                        f"{'AND' if filters else 'WHERE'} {column} IS NOT NULL AND {column} != '' "
                                        f"GROUP BY {column}", params).fetchall()
                counts[facet] = dict(rows)
            total, low, high = self._db.execute(
                f"SELECT COUNT(*), MIN(price), MAX(price) FROM products{condition}", params).fetchone()
        return Facets(total=int(total), price_min=low, price_max=high,
                      **{facet: sorted_facet(values) for facet, values in counts.items()})

    def delete(self, keys: Sequence[str], at: datetime | None = None) -> list[str]:
        when = as_utc(at) if at is not None else datetime.now(timezone.utc)
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            live, deleted = self._stored(keys)
            gone = deleting(keys, live, when)
            rows = [(k,) for k in gone]
            self._db.executemany(_DELETE_TEXT, rows)
            self._db.executemany("DELETE FROM products WHERE key = ?", rows)
            self._db.executemany("INSERT OR REPLACE INTO tombstones VALUES (?, ?)",
                                 [(k, max(when, deleted.get(k, when)).isoformat()) for k in gone])
        return gone

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM products").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
