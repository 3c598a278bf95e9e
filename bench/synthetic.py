"""Synthetic products for filling a store to a chosen size: vectors drawn to match the distribution of real ones,
and a metadata record for each.

A synthetic vector is `mean + g @ (X - mean) / sqrt(n - 1)` with `g` standard normal, `X` the n real embeddings:
Gaussian with the real vectors' mean and covariance (of rank at most n - 1), then L2-normalised like an embedding.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from snapmode.interfaces import VectorItem
from snapmode.records import ProductRecord

SYNTHETIC_SITE = "synthetic-shop"
CRAWLED_AT = datetime(2026, 1, 1, tzinfo=timezone.utc)  # fixed: a rerun of the fill replaces nothing newer


@dataclass(frozen=True)
class SyntheticSource:
    """The real vectors' mean and centred rows, and the field values that synthetic records draw from."""

    mean: np.ndarray  # (dim,)
    centred: np.ndarray  # (n, dim), divided by sqrt(n - 1)
    categories: tuple[str, ...]
    colours: tuple[str, ...]
    brands: tuple[str, ...]

    @classmethod
    def of(cls, vectors: np.ndarray, records: Sequence[ProductRecord]) -> SyntheticSource:
        real = np.asarray(vectors, dtype=np.float32)
        if real.ndim != 2 or len(real) < 2:
            raise ValueError(f"need at least 2 real vectors to draw from, got shape {real.shape}")
        mean = real.mean(axis=0)
        return cls(mean=mean, centred=(real - mean) / float(np.sqrt(len(real) - 1)),
                   categories=_values(r.category for r in records), colours=_values(r.colour for r in records),
                   brands=_values(r.brand for r in records))

    def vectors(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """`count` unit vectors of the real vectors' mean and covariance (before normalising), float32."""
        g = rng.standard_normal((count, len(self.centred)), dtype=np.float32)
        out = self.mean + g @ self.centred
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


def _values(values: object) -> tuple[str, ...]:
    return tuple(sorted({v for v in values if v})) or ("unknown",)  # type: ignore[attr-defined]


def synthetic_record(index: int, source: SyntheticSource, rng: np.random.Generator) -> ProductRecord:
    """Product `index` of the synthetic shop: one image, fields drawn from the real catalog's values."""
    category = source.categories[int(rng.integers(len(source.categories)))]
    colour = source.colours[int(rng.integers(len(source.colours)))]
    brand = source.brands[int(rng.integers(len(source.brands)))]
    product_id = f"s{index:08d}"
    return ProductRecord(site=SYNTHETIC_SITE, product_id=product_id, title=f"{colour} {category} {index}",
                         url=f"https://{SYNTHETIC_SITE}.invalid/p/{product_id}", brand=brand, category=category,
                         colour=colour, price=round(float(rng.uniform(5, 300)), 2), currency="EUR",
                         image_urls=(f"https://{SYNTHETIC_SITE}.invalid/i/{product_id}.jpg",), crawled_at=CRAWLED_AT)


def synthetic_batches(count: int, source: SyntheticSource, *, batch: int = 1000, seed: int = 0
                      ) -> Iterator[tuple[list[ProductRecord], list[VectorItem]]]:
    """`count` synthetic products in batches: their records and the vector item of each one's image."""
    rng = np.random.default_rng(seed)
    for start in range(0, count, batch):
        n = min(batch, count - start)
        vectors = source.vectors(n, rng)
        records = [synthetic_record(start + i, source, rng) for i in range(n)]
        items = [VectorItem.from_record(r, r.images()[0].image_id, v) for r, v in zip(records, vectors)]
        yield records, items
