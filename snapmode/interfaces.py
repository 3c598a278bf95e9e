"""The boundaries of the platform: `Embedder`, `VectorStore`, `MetadataStore` and the values they exchange.

Each has an embedded implementation (milvus-lite, SQLite) and a real one (Milvus, Solr) that drop in for each other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image

from snapmode.records import ProductRecord


@runtime_checkable
class Embedder(Protocol):
    """Maps RGB images to L2-normalised float32 vectors of a fixed dimension."""

    name: str
    dim: int
    model_id: str  # names the model that made a vector (weights digest): an index holds the vectors of one model

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Returns an array of shape (len(images), dim), each row of unit length."""
        ...


class EmbedderUnavailable(RuntimeError):
    """The configured embedder cannot be built as things stand (e.g. a stale exported graph): the message says what
    to run."""


@dataclass(frozen=True, slots=True)
class SearchFilter:
    """Restrictions on which products a search may return; None means no restriction."""

    category: str | None = None
    site: str | None = None
    brand: str | None = None
    colour: str | None = None
    price_min: float | None = None
    price_max: float | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in (self.category, self.site, self.brand, self.colour,
                                       self.price_min, self.price_max))


@dataclass(frozen=True, slots=True)
class VectorItem:
    """One image's embedding with the scalar fields that searches filter on."""

    image_id: str
    product_key: str
    vector: np.ndarray
    site: str = ""
    category: str = ""
    brand: str = ""
    colour: str = ""
    price: float = -1.0  # -1: unknown

    @classmethod
    def from_record(cls, record: ProductRecord, image_id: str, vector: np.ndarray) -> VectorItem:
        return cls(image_id=image_id, product_key=record.key, vector=vector, site=record.site,
                   category=record.category or "", brand=record.brand or "", colour=record.colour or "",
                   price=record.price if record.price is not None else -1.0)


@dataclass(frozen=True, slots=True)
class VectorHit:
    image_id: str
    product_key: str
    score: float  # cosine similarity, higher is closer


class StoreError(RuntimeError):
    """A store refused or failed an operation."""


class StoreUnavailable(StoreError):
    """The store could not be reached or timed out: retry later, nothing was acknowledged."""


class IndexMismatch(StoreError):
    """The vector index was made by another model (or dimension) than the embedder's: `snapmode reindex` rebuilds it."""


@runtime_checkable
class VectorStore(Protocol):
    dim: int

    def upsert(self, items: Sequence[VectorItem]) -> None:
        """Insert or replace by `image_id`; durable and searchable when it returns."""
        ...

    def insert(self, items: Sequence[VectorItem]) -> None:
        """As `upsert`, for images the store does not hold (a bulk fill): cheaper, and an id it holds would be
        stored twice."""
        ...

    def search(self, vectors: np.ndarray, k: int, where: SearchFilter | None = None) -> list[list[VectorHit]]:
        """Nearest images for each query row, best first."""
        ...

    def delete(self, image_ids: Sequence[str]) -> None: ...

    def images_of(self, product_keys: Sequence[str]) -> dict[str, set[str]]:
        """The stored image ids of each of `product_keys` that has any."""
        ...

    def existing(self, image_ids: Sequence[str]) -> set[str]:
        """Which of `image_ids` are stored."""
        ...

    def fetch(self, image_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those of `image_ids` that exist, by image id."""
        ...

    def count(self) -> int: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class FacetValue:
    value: str
    count: int


@dataclass(frozen=True, slots=True)
class Facets:
    """How many products have each value of a field, most frequent first, and the range of known prices."""

    total: int
    categories: tuple[FacetValue, ...] = ()
    brands: tuple[FacetValue, ...] = ()
    sites: tuple[FacetValue, ...] = ()
    colours: tuple[FacetValue, ...] = ()
    price_min: float | None = None
    price_max: float | None = None


FACET_FIELDS = {"categories": "category", "brands": "brand", "sites": "site", "colours": "colour"}


def sorted_facet(counts: dict[str, int]) -> tuple[FacetValue, ...]:
    """Facet values by count, most first, then by value."""
    return tuple(FacetValue(v, n) for v, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n > 0)


@runtime_checkable
class MetadataStore(Protocol):
    def upsert(self, records: Sequence[ProductRecord],
               duplicates: Mapping[str, str] | None = None) -> list[ProductRecord]:
        """Insert or replace by product key, unless the store holds a newer version (`crawled_at`) of the product or
        of its deletion; returns the records it stored (an older replay is left out, and never raises). Each stored
        product is marked `duplicate_of` the key `duplicates` gives it, and unmarked when it gives none."""
        ...

    def duplicate_marks(self, keys: Sequence[str]) -> dict[str, str | None]:
        """Each live product among `keys` with the product it duplicates (None: it duplicates none); deleted and
        unknown keys are left out."""
        ...

    def versions(self, keys: Sequence[str]) -> dict[str, datetime]:
        """The stored version of each of `keys` that the store knows, live or deleted (its tombstone's time)."""
        ...

    def get(self, keys: Sequence[str]) -> dict[str, ProductRecord]:
        """The records that exist among `keys`."""
        ...

    def query(self, text: str | None = None, where: SearchFilter | None = None, limit: int = 20,
              offset: int = 0) -> list[ProductRecord]:
        """Products matching a free-text query on title, brand and description, and the filter; the most relevant
        first when `text` is given, else by key; `offset` skips that many."""
        ...

    def facets(self, where: SearchFilter | None = None) -> Facets:
        """Value counts of category, brand, site and colour, and the price range, over the products `where` admits."""
        ...

    def delete(self, keys: Sequence[str], at: datetime | None = None) -> list[str]:
        """Delete products as of version `at` (now when None), keeping their tombstones so that an older replay
        cannot bring them back; a product with a newer version is kept. Returns the keys now deleted."""
        ...

    def count(self) -> int: ...

    def close(self) -> None: ...
