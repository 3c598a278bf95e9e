"""The API's search parameters and the limits the schema states for them: filter values, prices, `k` and `offset`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, field_validator

from snapmode.interfaces import SearchFilter
from snapmode.pipeline.box import Box

FILTER_MAX_CHARS = 256  # what the vector store keeps of a category, brand, site or colour
FILTER_PATTERN = r"^[^\x00-\x1f\x7f]*$"  # no control characters: no stored value holds one
PRICE_MAX = 1e9
K_DEFAULT = 10

FILTER_HELP = f"exact value, at most {FILTER_MAX_CHARS} characters, no control characters"
FilterValue = Annotated[str | None, Query(max_length=FILTER_MAX_CHARS, pattern=FILTER_PATTERN, description=FILTER_HELP)]
Price = Annotated[float | None, Query(ge=0, le=PRICE_MAX, allow_inf_nan=False)]


FilterField = Annotated[str | None, Field(max_length=FILTER_MAX_CHARS, pattern=FILTER_PATTERN, description=FILTER_HELP)]
PriceField = Annotated[float | None, Field(ge=0, le=PRICE_MAX, allow_inf_nan=False)]


class SearchParams(BaseModel):
    """How many products to return, from which rank, which ones may appear, and optional words."""

    k: int | None = Field(None, ge=1, description=f"number of products (default {K_DEFAULT}); the most is "
                                                  "SNAPMODE_SEARCH_K_MAX")
    offset: int | None = Field(None, ge=0, description="results to skip, for the next page (default 0); the most is "
                                                       "SNAPMODE_SEARCH_OFFSET_MAX")
    q: str | None = Field(None, max_length=500, description="words of title, brand or description, fused with the "
                                                            "photo's ranking (or alone, without a photo)")
    category: FilterField = None
    site: FilterField = None
    brand: FilterField = None
    colour: FilterField = None
    price_min: PriceField = None
    price_max: PriceField = None
    collapse: bool | None = Field(None, description="list each near-duplicate product (marked at ingestion) under "
                                                    "its original ranked above it, in `duplicates`, instead of "
                                                    "showing it (default true); false shows every product")
    bbox: str | None = Field(None, max_length=100, examples=["0.1,0.2,0.6,0.9"],
                             description="search with this region of the photo only: x0,y0,x1,y1 as shares (0 to 1) "
                                         "of the upright photo's width and height, x0 < x1, y0 < y1")

    @field_validator("bbox")
    @classmethod
    def _valid_box(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else str(Box.parse(value))

    def box(self) -> Box | None:
        return Box.parse(self.bbox) if self.bbox else None

    def where(self) -> SearchFilter | None:
        where = SearchFilter(**self.model_dump(exclude={"k", "offset", "q", "collapse", "bbox"}))
        return None if where.is_empty() else where


def filter_of(category: str | None, site: str | None, brand: str | None, colour: str | None,
              price_min: float | None, price_max: float | None) -> SearchFilter | None:
    """The filter of query parameters, None when they restrict nothing."""
    where = SearchFilter(category=category, site=site, brand=brand, colour=colour, price_min=price_min,
                         price_max=price_max)
    return None if where.is_empty() else where


def bounded(name: str, value: int | None, default: int, low: int, high: int, where: str = "query") -> int:
    """`value` (or `default`) when within [low, high]; else a 422 naming the parameter, as a schema refusal is."""
    value = default if value is None else value
    if not low <= value <= high:
        raise RequestValidationError([{"loc": (where, name), "type": "out_of_range",
                                       "msg": f"{name} must be between {low} and {high}, got {value}"}])
    return value


def checked_k(k: int | None, k_max: int, where: str = "query") -> int:
    return bounded("k", k, K_DEFAULT, 1, k_max, where)


def checked_offset(offset: int | None, offset_max: int, where: str = "query") -> int:
    return bounded("offset", offset, 0, 0, offset_max, where)
