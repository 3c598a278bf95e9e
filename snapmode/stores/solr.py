"""`MetadataStore` on a Solr core through pysolr: text search on title, brand and description, exact filters."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pysolr

from snapmode.interfaces import FACET_FIELDS, Facets, SearchFilter, StoreError, StoreUnavailable, sorted_facet
from snapmode.records import ProductRecord

_UNREACHABLE = ("Connection to server", "Failed to connect", "Unhandled error")
_HTTP_STATUS = re.compile(r"HTTP (\d{3})")
_TEXT_FIELDS = ("title", "brand_text", "description")


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


def _pairs(flat: list[Any]) -> dict[str, int]:
    """Solr's flat facet list [value, count, value, count, ...] as a dict."""
    return {str(value): int(count) for value, count in zip(flat[::2], flat[1::2]) if str(value)}


def to_document(record: ProductRecord) -> dict[str, Any]:
    doc: dict[str, Any] = {"key": record.key, "record": record.to_json(),
                           "crawled_at": record.crawled_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    for name in ("schema_version", "site", "product_id", "url", "title", "brand", "category", "colour", "price",
                 "currency", "availability", "description"):
        if (value := getattr(record, name)) is not None:
            doc[name] = value
    doc["image_urls"] = list(record.image_urls)
    return doc


class SolrMetadataStore:
    """Product records in the Solr core at `url` (e.g. http://127.0.0.1:8983/solr/products), keyed by product key.

    Writes are hard-committed before they return, so they are durable and searchable. A Solr that cannot be
    reached or answers 5xx raises `StoreUnavailable` (retry later); a refused request raises `StoreError`.
    """

    def __init__(self, url: str, *, timeout_s: float = 10.0, auth: tuple[str, str] | None = None) -> None:
        self.url = url.rstrip("/")
        self._solr = pysolr.Solr(self.url, timeout=timeout_s, always_commit=False, auth=auth)

    def upsert(self, records: Sequence[ProductRecord]) -> None:
        latest = {r.key: r for r in records}  # the last record of a key in one batch wins
        if latest:
            self._call(self._solr.add, [to_document(r) for r in latest.values()], commit=True)

    def get(self, keys: Sequence[str]) -> dict[str, ProductRecord]:
        if not keys:
            return {}
        fq = "key:(" + " OR ".join(_phrase(k) for k in keys) + ")"
        results = self._call(self._solr.search, "*:*", fq=fq, fl="key,record", rows=len(keys))
        return {doc["key"]: ProductRecord.from_json(doc["record"]) for doc in results}

    def query(self, text: str | None = None, where: SearchFilter | None = None, limit: int = 20,
              offset: int = 0) -> list[ProductRecord]:
        q = text_query(text) if text else ""
        sort = "score desc, key asc" if q else "key asc"
        results = self._call(self._solr.search, q or "*:*", fq=filter_queries(where), fl="record", rows=limit,
                             start=offset, sort=sort, **{"q.op": "AND", "defType": "lucene"})
        return [ProductRecord.from_json(doc["record"]) for doc in results]

    def facets(self, where: SearchFilter | None = None) -> Facets:
        """One facet query: field counts (`facet.field`) and the price range (`stats`)."""
        results = self._call(self._solr.search, "*:*", fq=filter_queries(where), rows=0, facet="true",
                             **{"facet.field": list(FACET_FIELDS.values()), "facet.limit": -1, "facet.mincount": 1,
                                "stats": "true", "stats.field": "price"})
        fields = results.facets.get("facet_fields", {})
        counts = {facet: _pairs(fields.get(field, [])) for facet, field in FACET_FIELDS.items()}
        price = (results.stats or {}).get("stats_fields", {}).get("price") or {}
        return Facets(total=int(results.hits), price_min=price.get("min"), price_max=price.get("max"),
                      **{facet: sorted_facet(values) for facet, values in counts.items()})

    def delete(self, keys: Sequence[str]) -> None:
        if keys:
            self._call(self._solr.delete, id=list(keys), commit=True)

    def count(self) -> int:
        return int(self._call(self._solr.search, "*:*", rows=0).hits)

    def close(self) -> None:
        self._solr.get_session().close()

    def _call(self, method, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return method(*args, **kwargs)
        except pysolr.SolrError as exc:
            message = str(exc)
            status = _HTTP_STATUS.search(message)
            if message.startswith(_UNREACHABLE) or (status and status.group(1).startswith("5")):
                raise StoreUnavailable(f"Solr at {self.url} unavailable: {message[:500]}") from exc
            hint = " (does the core exist? `snapmode cluster init` creates it)" if status and status.group(1) == "404" \
                else ""
            raise StoreError(f"Solr at {self.url} refused {method.__name__}: {message[:500]}{hint}") from exc
