"""Query by image: decode, embed, find the nearest images, and rank the products they belong to."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel

from snapmode.interfaces import Embedder, MetadataStore, SearchFilter, VectorHit, VectorStore
from snapmode.logs import get_logger
from snapmode.pipeline.decode import DecodeLimits, decode_image
from snapmode.records import ProductRecord

log = get_logger(__name__)

MAX_IMAGE_HITS = 1_024  # the most image hits one query asks the vector store for, however far it widens


class SearchResult(BaseModel):
    """One product in a result list, with the image of it that matched the query best."""

    product_key: str
    product_id: str
    site: str
    score: float  # cosine similarity of the best image, higher is closer
    title: str
    brand: str | None = None
    category: str | None = None
    colour: str | None = None
    price: float | None = None
    currency: str | None = None
    url: str
    image_id: str
    image_url: str

    @classmethod
    def of(cls, record: ProductRecord, hit: VectorHit) -> SearchResult:
        urls = {ref.image_id: ref.url for ref in record.images()}
        return cls(product_key=record.key, product_id=record.product_id, site=record.site, score=hit.score,
                   title=record.title, brand=record.brand, category=record.category, colour=record.colour,
                   price=record.price, currency=record.currency, url=record.url, image_id=hit.image_id,
                   image_url=urls.get(hit.image_id, record.image_urls[0]))


def best_per_product(hits: list[VectorHit]) -> dict[str, VectorHit]:
    """The best hit of each product, in rank order (`hits` come best first)."""
    best: dict[str, VectorHit] = {}
    for hit in hits:
        best.setdefault(hit.product_key, hit)
    return best


class SearchService:
    """Finds the `k` products whose images look most like a query image.

    Products have several images, so the vector search asks for `oversample * k` images, keeps each product's
    best one, and widens the search when that yields fewer than `k` products, up to `max_hits` images.
    """

    def __init__(self, embedder: Embedder, vectors: VectorStore, metadata: MetadataStore, limits: DecodeLimits,
                 *, oversample: int = 4, max_hits: int = MAX_IMAGE_HITS) -> None:
        assert embedder.dim == vectors.dim, f"embedder makes {embedder.dim}-d vectors, the store holds {vectors.dim}-d"
        self.embedder = embedder
        self.vectors = vectors
        self.metadata = metadata
        self.limits = limits
        self.oversample = oversample
        self.max_hits = max_hits

    def embed_image(self, data: bytes) -> np.ndarray:
        """The query vector for untrusted image bytes; raises `ImageRejected`."""
        return self.embedder.embed([decode_image(data, self.limits)])[0]

    def search_image(self, data: bytes, k: int = 10, where: SearchFilter | None = None) -> list[SearchResult]:
        """The `k` products most like the image in `data`, best first; raises `ImageRejected` for bad input."""
        return self.search_vector(self.embed_image(data), k, where)

    def search_vector(self, vector: np.ndarray, k: int = 10, where: SearchFilter | None = None) -> list[SearchResult]:
        """The `k` products whose best image is nearest to `vector`, best first."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        limit = min(k * self.oversample, self.max_hits)
        while True:
            hits = self.vectors.search(np.asarray(vector, dtype=np.float32)[None, :], limit, where)[0]
            best = best_per_product(hits)
            if len(best) >= k or len(hits) < limit or limit >= self.max_hits:
                break
            limit = min(limit * 4, self.max_hits)
        records = self.metadata.get(list(best))
        results = []
        for key, hit in best.items():
            record = records.get(key)
            if record is None:  # a vector whose metadata is gone (deleted product): never show it
                log.warning("search.orphan_vector", product=key, image_id=hit.image_id)
                continue
            results.append(SearchResult.of(record, hit))
            if len(results) == k:
                break
        return results
