"""What one extractor found about one product, before it is merged and validated."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class ProductFacts:
    """Raw facts: strings as found, image URLs possibly relative. Empty fields are None."""

    product_id: str | None = None
    title: str | None = None
    brand: str | None = None
    price: float | None = None
    currency: str | None = None
    category: str | None = None
    colour: str | None = None
    availability: str | None = None
    description: str | None = None
    url: str | None = None
    images: list[str] = field(default_factory=list)

    def complete_with(self, other: ProductFacts) -> ProductFacts:
        """These facts, with the gaps filled from `other`; images are this gallery first, then the other's."""
        merged: dict[str, Any] = {}
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if f.name == "images":
                merged[f.name] = list(dict.fromkeys([*mine, *theirs]))
            else:
                merged[f.name] = mine if mine not in (None, "") else theirs
        return ProductFacts(**merged)

    @property
    def found(self) -> bool:
        return bool(self.title or self.product_id or self.images)
