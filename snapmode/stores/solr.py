"""`MetadataStore` on a Solr core through pysolr: text search on title, brand and description, exact filters.

A deletion leaves a tombstone document (`deleted:true`) that every read filters out; versions are compared by reading
the stored `crawled_at` before writing, so two writers racing on one key are not serialised (route one key to one
writer: the topology groups its writers by product key).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

import pysolr

from snapmode.interfaces import FACET_FIELDS, Facets, SearchFilter, StoreError, StoreUnavailable, sorted_facet
from snapmode.records import ProductRecord, as_utc
from snapmode.stores.versions import deleting, replacing

_UNREACHABLE = ("Connection to server", "Failed to connect", "Unhandled error")
_HTTP_STATUS = re.compile(r"HTTP (\d{3})")
_TEXT_FIELDS = ("title", "brand_text", "description")
LIVE = "-deleted:true"  # the filter that leaves tombstones out
CONFLICT_TRIES = 5  # read-compare-writes of one call that may find another writer in between
T = TypeVar("T")


def _phrase(value: str) -> str:
    """A string as a quoted Lucene phrase: exact match on a string field, no query syntax inside."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def text_query(text: str) -> str:
    """Every word of free text must match title, brand or description, as a whole word (ranked first) or prefix."""
    clauses = []
    for word in re.findall(r"\w+", text.lower()):
        exact = " OR ".join(f"{field}:{word}^2" for field in _TEXT_FIELDS)
        prefix = " OR ".join(f"{field}:{word}*" for field in _TEXT_FIELDS)
        clauses.append(f"({exact} OR {prefix})")
    return " AND ".join(clauses)


def filter_queries(where: SearchFilter | None) -> list[str]:
    if where is None:
        return []
    fq = [f"{name}:{_phrase(value)}" for name in ("site", "category", "brand", "colour")
          if (value := getattr(where, name)) is not None]
    if where.price_min is not None or where.price_max is not None:
        low = "*" if where.price_min is None else repr(float(where.price_min))
        high = "*" if where.price_max is None else repr(float(where.price_max))
        fq.append(f"price:[{low} TO {high}]")
    return fq


KEYS_PER_QUERY = 500  # keys in one filter query


def _keys_filter(keys: Sequence[str]) -> str:
    return "key:(" + " OR ".join(_phrase(k) for k in keys) + ")"


def _pairs(flat: list[Any]) -> dict[str, int]:
    """Solr's flat facet list [value, count, value, count, ...] as a dict."""
    return {str(value): int(count) for value, count in zip(flat[::2], flat[1::2]) if str(value)}


def solr_time(at: datetime) -> str:
    return as_utc(at).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def tombstone_document(key: str, at: datetime) -> dict[str, Any]:
    site, _, product_id = key.partition(":")
    return {"key": key, "site": site, "product_id": product_id, "crawled_at": solr_time(at), "deleted": True}


def to_document(record: ProductRecord, duplicate_of: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"key": record.key, "record": record.to_json(), "crawled_at": solr_time(record.crawled_at)}
    if duplicate_of is not None:
        doc["duplicate_of"] = duplicate_of
    for name in ("schema_version", "site", "product_id", "url", "title", "brand", "category", "colour", "price",
                 "currency", "availability", "description"):
        if (value := getattr(record, name)) is not None:
            doc[name] = value
    doc["image_urls"] = list(record.image_urls)
    return doc


@dataclass(frozen=True, slots=True)
class Stored:
    """What Solr holds for a key: its version (crawl time), whether it is a tombstone, and Solr's own `_version_`."""

    at: datetime
    deleted: bool
    solr_version: int


def by_state(stored: Mapping[str, Stored]) -> tuple[dict[str, datetime], dict[str, datetime]]:
    """(versions of the live products, times of the tombstones) among `stored`."""
    live = {key: s.at for key, s in stored.items() if not s.deleted}
    return live, {key: s.at for key, s in stored.items() if s.deleted}


class VersionConflict(StoreUnavailable):
    """Another write changed a document between this write's read and its update: read again and retry."""


def guarded(doc: dict[str, Any], stored: Stored | None) -> dict[str, Any]:
    """`doc` written only over the document read (or only where none exists): Solr's optimistic concurrency."""
    return {**doc, "_version_": stored.solr_version if stored is not None else -1}


class SolrMetadataStore:
    """Product records in the Solr core at `url` (e.g. http://127.0.0.1:8983/solr/products), keyed by product key.

    Writes are hard-committed before they return, so they are durable and searchable. A Solr that cannot be
    reached or answers 5xx raises `StoreUnavailable` (retry later); a refused request raises `StoreError`.
    """

    def __init__(self, url: str, *, timeout_s: float = 10.0, auth: tuple[str, str] | None = None) -> None:
        self.url = url.rstrip("/")
        self._solr = pysolr.Solr(self.url, timeout=timeout_s, always_commit=False, auth=auth)

    def upsert(self, records: Sequence[ProductRecord],
               duplicates: Mapping[str, str] | None = None) -> list[ProductRecord]:
        marks = duplicates or {}
        if not records:
            return []

        def once() -> list[ProductRecord]:
            stored = self._stored([r.key for r in records])
            fresh = replacing(records, *by_state(stored))
            if fresh:
                self._call(self._solr.add, [guarded(to_document(r, marks.get(r.key)), stored.get(r.key))
                                            for r in fresh], commit=True)
            return fresh

        return self._optimistic(once)

    def versions(self, keys: Sequence[str]) -> dict[str, datetime]:
        return {key: stored.at for key, stored in self._stored(keys).items()}

    def _stored(self, keys: Sequence[str]) -> dict[str, Stored]:
        """What each of `keys` that has a document holds, tombstones included."""
        out: dict[str, Stored] = {}
        for doc in self._documents(keys, "key,crawled_at,deleted,_version_"):
            at = datetime.fromisoformat(doc["crawled_at"].replace("Z", "+00:00"))
            out[doc["key"]] = Stored(as_utc(at), bool(doc.get("deleted", False)), int(doc["_version_"]))
        return out

    def _documents(self, keys: Sequence[str], fields: str, *filters: str) -> Iterator[dict[str, Any]]:
        """The `fields` of the documents of `keys` that pass `filters`, read `KEYS_PER_QUERY` keys at a time."""
        keys = list(dict.fromkeys(keys))
        for start in range(0, len(keys), KEYS_PER_QUERY):
            chunk = keys[start:start + KEYS_PER_QUERY]
            yield from self._call(self._solr.search, "*:*", fq=[_keys_filter(chunk), *filters], fl=fields,
                                  rows=len(chunk))

    def _optimistic(self, write: Callable[[], T]) -> T:
        """Run a read-compare-write until no other writer changed one of its documents in between (Solr refuses a
        document whose `_version_` moved with 409): a deletion racing an older record's upsert cannot be undone.
        Before reading again, a commit makes visible what a failed batch left uncommitted (its rows before the one
        refused went in)."""
        for attempt in range(CONFLICT_TRIES):
            try:
                return write()
            except VersionConflict:
                if attempt == CONFLICT_TRIES - 1:
                    raise
                self._call(self._solr.commit)
        raise AssertionError("unreachable")

    def get(self, keys: Sequence[str]) -> dict[str, ProductRecord]:
        docs = self._documents(keys, "key,record", LIVE)
        return {doc["key"]: ProductRecord.from_json(doc["record"]) for doc in docs}

    def duplicate_marks(self, keys: Sequence[str]) -> dict[str, str | None]:
        return {doc["key"]: doc.get("duplicate_of") for doc in self._documents(keys, "key,duplicate_of", LIVE)}

    def query(self, text: str | None = None, where: SearchFilter | None = None, limit: int = 20,
              offset: int = 0) -> list[ProductRecord]:
        q = text_query(text) if text else ""
        sort = "score desc, key asc" if q else "key asc"
        results = self._call(self._solr.search, q or "*:*", fq=[*filter_queries(where), LIVE], fl="record",
                             rows=limit, start=offset, sort=sort, **{"q.op": "AND", "defType": "lucene"})
        return [ProductRecord.from_json(doc["record"]) for doc in results]

    def facets(self, where: SearchFilter | None = None) -> Facets:
        """One facet query: field counts (`facet.field`) and the price range (`stats`)."""
        results = self._call(self._solr.search, "*:*", fq=[*filter_queries(where), LIVE], rows=0, facet="true",
                             **{"facet.field": list(FACET_FIELDS.values()), "facet.limit": -1, "facet.mincount": 1,
                                "stats": "true", "stats.field": "price"})
        fields = results.facets.get("facet_fields", {})
        counts = {facet: _pairs(fields.get(field, [])) for facet, field in FACET_FIELDS.items()}
        price = (results.stats or {}).get("stats_fields", {}).get("price") or {}
        return Facets(total=int(results.hits), price_min=price.get("min"), price_max=price.get("max"),
                      **{facet: sorted_facet(values) for facet, values in counts.items()})

    def delete(self, keys: Sequence[str], at: datetime | None = None) -> list[str]:
        when = as_utc(at) if at is not None else datetime.now(timezone.utc)
        keys = list(dict.fromkeys(keys))

        def once() -> list[str]:
            stored = self._stored(keys)
            gone = deleting(keys, by_state(stored)[0], when)
            if gone:  # a tombstone replaces the product's document and keeps the newest deletion time
                self._call(self._solr.add, [guarded(tombstone_document(k, max(when, stored[k].at) if k in stored
                                                                       else when), stored.get(k)) for k in gone],
                           commit=True)
            return gone

        return self._optimistic(once)

    def count(self) -> int:
        return int(self._call(self._solr.search, "*:*", fq=LIVE, rows=0).hits)

    def close(self) -> None:
        self._solr.get_session().close()

    def _call(self, method, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return method(*args, **kwargs)
        except (ValueError, TypeError) as exc:
            if method.__name__ == "add":  # a document pysolr cannot encode: refused before it is sent
                raise StoreError(f"Solr add not sent, a value cannot be encoded: {exc}") from exc
            raise StoreUnavailable(f"Solr at {self.url} answered what pysolr cannot read: {exc}") from exc
        except pysolr.SolrError as exc:
            message = str(exc)
            status = _HTTP_STATUS.search(message)
            if status and status.group(1) == "409":
                raise VersionConflict(f"Solr at {self.url}: a document changed during this write: {message[:300]}") \
                    from exc
            if message.startswith(_UNREACHABLE) or (status and status.group(1).startswith("5")):
                raise StoreUnavailable(f"Solr at {self.url} unavailable: {message[:500]}") from exc
            hint = " (does the core exist? `snapmode cluster init` creates it)" if status and status.group(1) == "404" \
                else ""
            raise StoreError(f"Solr at {self.url} refused {method.__name__}: {message[:500]}{hint}") from exc
