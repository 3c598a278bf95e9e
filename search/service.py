"""Query by image, by words or both: find the nearest images, rank the products they belong to, fuse with text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import Image
from pydantic import BaseModel, Field

from snapmode.interfaces import Embedder, MetadataStore, SearchFilter, VectorHit, VectorStore
from snapmode.logs import get_logger
from snapmode.pipeline.box import Box
from snapmode.pipeline.decode import DecodeLimits, decode_image
from snapmode.records import ProductRecord
from snapmode.search.fusion import RRF_K, reciprocal_rank_fusion

log = get_logger(__name__)

MAX_IMAGE_HITS = 1_024  # the most image hits one query asks the vector store for, however far it widens

Ranking = Literal["image", "text", "hybrid"]  # a photo alone by similarity; words alone or with a photo, fused


class SearchResult(BaseModel):
    """One product in a result list, with the image of it that matched the query best."""

    product_key: str
    product_id: str
    site: str
    score: float  # cosine similarity of the best image (photo only), else the fused rank score; higher is closer
    title: str
    brand: str | None = None
    category: str | None = None
    colour: str | None = None
    price: float | None = None
    currency: str | None = None
    url: str
    image_id: str
    image_url: str
    duplicates: list[str] = Field(default_factory=list,
                                  description="products ranked below this one in the same search that are marked as "
                                              "near-duplicates of it, collapsed into it (`collapse`, the default)")

    @classmethod
    def of(cls, record: ProductRecord, hit: VectorHit | None, score: float | None = None,
           duplicates: Sequence[str] = ()) -> SearchResult:
        """The result for `record`, showing the image of `hit` (its first image without one), scored by `score`
        (the hit's similarity by default), with the keys of the `duplicates` collapsed into it."""
        refs = record.images()
        urls = {ref.image_id: ref.url for ref in refs}
        image_id = hit.image_id if hit is not None else refs[0].image_id
        if score is None:
            assert hit is not None, "a result without an image hit needs a score"
            score = hit.score
        return cls(product_key=record.key, product_id=record.product_id, site=record.site, score=score,
                   title=record.title, brand=record.brand, category=record.category, colour=record.colour,
                   price=record.price, currency=record.currency, url=record.url, image_id=image_id,
                   image_url=urls.get(image_id, record.image_urls[0]), duplicates=list(duplicates))


@dataclass(frozen=True, slots=True)
class Page:
    """Which results one query wants: `k` from rank `offset`, among the products `where` admits, near-duplicates
    collapsed into their originals or not."""

    k: int = 10
    where: SearchFilter | None = None
    offset: int = 0
    collapse: bool = True


class UnknownProduct(LookupError):
    """No such product, or none of its images is indexed."""


def has_words(text: str | None) -> bool:
    """Whether free text holds anything a text search can match (letters or digits)."""
    return bool(text and re.search(r"\w", text))


def best_per_product(hits: list[VectorHit], exclude: frozenset[str] = frozenset()) -> dict[str, VectorHit]:
    """The best hit of each product not in `exclude`, in rank order (`hits` come best first)."""
    best: dict[str, VectorHit] = {}
    for hit in hits:
        if hit.product_key not in exclude:
            best.setdefault(hit.product_key, hit)
    return best


def collapse_duplicates(ranked: Sequence[str], marks: dict[str, str | None]) -> dict[str, list[str]]:
    """The products of `ranked` (best first) that `marks` knows (the live ones), each with the products below it
    that duplicate it: a product whose `duplicate_of` (in `marks`) is ranked above it joins that product's group
    (or the group that product joined) instead of appearing. An original outside the list hides nothing."""
    groups: dict[str, list[str]] = {}
    head: dict[str, str] = {}
    for key in ranked:
        if key not in marks or key in head:
            continue
        original = marks[key]
        if original is not None and original in head:
            head[key] = head[original]
            groups[head[key]].append(key)
        else:
            head[key] = key
            groups[key] = []
    return groups


class SearchService:
    """Finds the `k` products whose images look most like a query image, or that a query's words describe, or both.

    Products have several images, so the vector search asks for `oversample * k` images, keeps each product's
    best one, and widens the search when that yields fewer than `k` products, up to `max_hits` images. Words and a
    photo are each ranked over `hybrid_depth` products and fused by reciprocal rank fusion (constant `rrf_k`).
    A query is answered by `find`; photos decoded ahead (`decode`) are answered together by `find_photos`.
    """

    def __init__(self, embedder: Embedder, vectors: VectorStore, metadata: MetadataStore, limits: DecodeLimits,
                 *, oversample: int = 4, max_hits: int = MAX_IMAGE_HITS, hybrid_depth: int = 100,
                 rrf_k: int = RRF_K) -> None:
        assert embedder.dim == vectors.dim, f"embedder makes {embedder.dim}-d vectors, the store holds {vectors.dim}-d"
        self.embedder = embedder
        self.vectors = vectors
        self.metadata = metadata
        self.limits = limits
        self.oversample = oversample
        self.max_hits = max_hits
        self.hybrid_depth = hybrid_depth
        self.rrf_k = rrf_k

    @staticmethod
    def ranking(photo: bool, text: str | None) -> Ranking:
        """How a query is ranked: a photo alone by image similarity; words, alone or with a photo, by the fusion of
        the text ranking with the photo's. Raises `ValueError` for a query with neither."""
        if has_words(text):
            return "hybrid" if photo else "text"
        if not photo:
            raise ValueError("a search needs a photo, words, or both")
        return "image"

    def find(self, data: bytes | None, text: str | None, page: Page, box: Box | None = None) -> list[SearchResult]:
        """One query: the photo in untrusted bytes `data` (raises `ImageRejected`), or its region `box`, the words
        of `text`, or both, ranked as `ranking` says."""
        if self.ranking(data is not None, text) == "image":
            assert data is not None
            return self.find_photos([self.decode(data, box)], [page])[0]
        vector = self.embed_image(data, box) if data is not None else None
        return self.search_hybrid(vector, text, page.k, page.where, page.offset, page.collapse)

    def find_photos(self, images: Sequence[Image.Image], pages: Sequence[Page]) -> list[list[SearchResult]]:
        """Queries of a decoded photo alone, each with its page: one forward pass, then `search_vectors`."""
        return self.search_vectors(self.embed(images), pages)

    def decode(self, data: bytes, box: Box | None = None) -> Image.Image:
        """The photo in untrusted bytes (or its region `box`), within this service's limits; raises
        `ImageRejected`."""
        return decode_image(data, self.limits, box)

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        """One forward pass: a float32 query vector a row, one per image."""
        return np.asarray(self.embedder.embed(images), dtype=np.float32)

    def embed_image(self, data: bytes, box: Box | None = None) -> np.ndarray:
        """The query vector for untrusted image bytes (or their region `box`); raises `ImageRejected`."""
        return self.embed([self.decode(data, box)])[0]

    def search_image(self, data: bytes, k: int = 10, where: SearchFilter | None = None,
                     offset: int = 0, collapse: bool = True, box: Box | None = None) -> list[SearchResult]:
        """The `k` products most like the image in `data` (or its region `box`), best first; raises `ImageRejected`
        for bad input."""
        return self.find(data, None, Page(k, where, offset, collapse), box)

    def search_vector(self, vector: np.ndarray, k: int = 10, where: SearchFilter | None = None,
                      offset: int = 0, collapse: bool = True) -> list[SearchResult]:
        """The `k` products whose best image is nearest to `vector`, best first, after skipping `offset`; with
        `collapse`, near-duplicates ranked below their original are listed under it, not counted."""
        return self.search_vectors(np.asarray(vector, dtype=np.float32)[None, :], [Page(k, where, offset, collapse)])[0]

    def search_vectors(self, vectors: np.ndarray, pages: Sequence[Page]) -> list[list[SearchResult]]:
        """The image ranking of each row of `vectors` with its page (k, filter, offset, collapse): its products by
        their best image (`nearest_products`), collapsed (`ranked`); one vector search per distinct (filter, depth)
        and one read of duplicate marks and of metadata serve all the rows."""
        queries = np.asarray(vectors, dtype=np.float32).reshape(len(pages), -1)
        for page in pages:
            _check_page(page.k, page.offset)
        first = self._first_hits(queries, pages)
        best = [self.nearest_products(queries[i:i + 1], page.k + page.offset, page.where, first=[first[i]])
                for i, page in enumerate(pages)]
        marks = self._marks([key for found, page in zip(best, pages) if page.collapse for key in found])
        ranked = [self._collapsed(queries[i:i + 1], page.k + page.offset, page.where, best[i], marks)
                  if page.collapse else (best[i], None) for i, page in enumerate(pages)]
        keys = [key for (found, groups), page in zip(ranked, pages)
                for key in list(groups if groups is not None else found)[page.offset:page.offset + page.k]]
        records = self.metadata.get(list(dict.fromkeys(keys))) if keys else {}
        return [self._page(found, page.k, page.offset, records, groups) for (found, groups), page in zip(ranked, pages)]

    def similar(self, key: str, k: int = 10, where: SearchFilter | None = None, offset: int = 0,
                collapse: bool = True) -> list[SearchResult]:
        """The `k` other products nearest to any stored image of product `key`; raises `UnknownProduct`."""
        _check_page(k, offset)
        record = self.metadata.get([key]).get(key)
        if record is None:
            raise UnknownProduct(f"no product {key!r}; keys look like site:product_id")
        stored = self.vectors.fetch([ref.image_id for ref in record.images()])
        if not stored:
            raise UnknownProduct(f"product {key!r} has no indexed image")
        best, groups = self.ranked(np.stack(list(stored.values())), k + offset, where, exclude=frozenset({key}),
                                   collapse=collapse)
        return self._page(best, k, offset, groups=groups)

    def search_hybrid(self, vector: np.ndarray | None, text: str | None, k: int = 10,
                      where: SearchFilter | None = None, offset: int = 0, collapse: bool = True) -> list[SearchResult]:
        """Products ranked by the photo's `vector` and by the words of `text`, fused by reciprocal rank fusion;
        either may be missing (not both). The filter applies to both rankings, which go deeper when collapsed
        duplicates leave the page short."""
        _check_page(k, offset)
        words = has_words(text)
        if vector is None and not words:
            raise ValueError("a search needs a photo, words, or both")
        depth = max(self.hybrid_depth, k + offset)
        marks: dict[str, str | None] = {}
        while True:
            by_image: dict[str, VectorHit] = {}
            if vector is not None:
                by_image = self.nearest_products(np.asarray(vector, dtype=np.float32)[None, :], depth, where)
            by_text = {r.key: r for r in self.metadata.query(text, where, limit=depth)} if words else {}
            fused = reciprocal_rank_fusion([list(by_image), list(by_text)], k=self.rrf_k)
            groups: dict[str, list[str]] = {}
            if collapse and fused:
                marks.update(self.metadata.duplicate_marks([key for key, _ in fused if key not in marks]))
                groups = collapse_duplicates([key for key, _ in fused], marks)
                fused = [(key, score) for key, score in fused if key in groups]
            if len(fused) >= k + offset or (len(by_image) < depth and len(by_text) < depth):
                break
            depth *= 2  # duplicates took places and either ranking may hold more: both deeper
        records = dict(by_text)
        missing = [key for key, _ in fused[offset:] if key not in records]
        records.update(self.metadata.get(missing) if missing else {})
        results = []
        for key, score in fused[offset:]:
            if (record := records.get(key)) is None:
                log.warning("search.orphan_vector", product=key)
                continue
            results.append(SearchResult.of(record, by_image.get(key), score, groups.get(key, ())))
            if len(results) == k:
                break
        return results

    def nearest_products(self, queries: np.ndarray, count: int, where: SearchFilter | None = None,
                         exclude: frozenset[str] = frozenset(), first: list[list[VectorHit]] | None = None
                         ) -> dict[str, VectorHit]:
        """Up to `count` products (not in `exclude`) by their best hit over every query row, best first, the search
        widened until it finds them or runs out; `first`: the rows of its first search, when already made."""
        limit = self._first_limit(count)
        rows = first if first is not None else self.vectors.search(queries, limit, where)
        while True:
            hits = sorted((hit for row in rows for hit in row), key=lambda hit: -hit.score)
            best = best_per_product(hits, exclude)
            if len(best) >= count or min(len(row) for row in rows) < limit or limit >= self.max_hits:
                return best
            limit = min(limit * 4, self.max_hits)
            rows = self.vectors.search(queries, limit, where)

    def ranked(self, queries: np.ndarray, count: int, where: SearchFilter | None = None,
               exclude: frozenset[str] = frozenset(), collapse: bool = True
               ) -> tuple[dict[str, VectorHit], dict[str, list[str]] | None]:
        """`nearest_products`, and with `collapse` its products grouped under their originals
        (`collapse_duplicates`, None without), searched deeper until there are `count` groups or no more products."""
        best = self.nearest_products(queries, count, where, exclude)
        if not collapse:
            return best, None
        return self._collapsed(queries, count, where, best, self._marks(list(best)), exclude)

    def _collapsed(self, queries: np.ndarray, count: int, where: SearchFilter | None, best: dict[str, VectorHit],
                   marks: dict[str, str | None], exclude: frozenset[str] = frozenset()
                   ) -> tuple[dict[str, VectorHit], dict[str, list[str]]]:
        """`ranked` for the products `best` already found, whose duplicate marks `marks` holds (the marks of
        products found deeper are read into it)."""
        while True:
            groups = collapse_duplicates(list(best), marks)
            if len(groups) >= count or len(best) < count:
                return best, groups
            deeper = self.nearest_products(queries, len(best) + count - len(groups), where, exclude)
            if len(deeper) <= len(best):
                return best, groups
            marks.update(self._marks([key for key in deeper if key not in marks]))
            best = deeper

    def _first_hits(self, queries: np.ndarray, pages: Sequence[Page]) -> list[list[VectorHit]]:
        """The first vector search of each row with its page, one call for the rows of each (filter, depth)."""
        searches: dict[tuple[SearchFilter | None, int], list[int]] = {}
        for i, page in enumerate(pages):
            searches.setdefault((page.where, self._first_limit(page.k + page.offset)), []).append(i)
        first: list[list[VectorHit]] = [[] for _ in pages]
        for (where, limit), rows in searches.items():
            for i, hits in zip(rows, self.vectors.search(queries[rows], limit, where)):
                first[i] = hits
        return first

    def _first_limit(self, count: int) -> int:
        """How many images the first search for `count` products asks for."""
        return min(count * self.oversample, self.max_hits)

    def _marks(self, keys: list[str]) -> dict[str, str | None]:
        """The duplicate marks of the live products among `keys`."""
        return self.metadata.duplicate_marks(list(dict.fromkeys(keys))) if keys else {}

    def _page(self, best: dict[str, VectorHit], k: int, offset: int,
              records: dict[str, ProductRecord] | None = None,
              groups: dict[str, list[str]] | None = None) -> list[SearchResult]:
        """Results `offset` to `offset + k` of the ranked hits (of the groups' heads when `groups` is given),
        metadata joined (`records` already read, the rest read here): the first `k` keys are read, more only when
        some of them are orphan vectors, which are skipped."""
        keys = list(groups if groups is not None else best)[offset:]
        records = dict(records or {})
        missing = [key for key in keys[:k] if key not in records]
        if missing:
            records.update(self.metadata.get(missing))
        if sum(key in records for key in keys[:k]) < k < len(keys):  # orphans among them: read the rest once
            records.update(self.metadata.get([key for key in keys[k:] if key not in records]))
        results = []
        for key in keys:
            record = records.get(key)
            if record is None:  # a vector whose metadata is gone (deleted product): never show it
                log.warning("search.orphan_vector", product=key, image_id=best[key].image_id)
                continue
            results.append(SearchResult.of(record, best[key], duplicates=(groups or {}).get(key, ())))
            if len(results) == k:
                break
        return results


def _check_page(k: int, offset: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if offset < 0:
        raise ValueError(f"offset must be at least 0, got {offset}")
