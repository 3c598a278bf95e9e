"""`GET /facets`: the values of category, brand, site and colour with their product counts, and the price range."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from snapmode.interfaces import FACET_FIELDS, Facets, SearchFilter
from snapmode.services.access import ApiKeyDep
from snapmode.services.deps import MetadataDep
from snapmode.services.ratelimit import RateLimitDep

router = APIRouter(prefix="/facets", tags=["facets"], dependencies=[ApiKeyDep, RateLimitDep])


class FacetCount(BaseModel):
    value: str
    count: int


class FacetsResponse(BaseModel):
    total: int  # products that the filter admits
    categories: list[FacetCount]
    brands: list[FacetCount]
    sites: list[FacetCount]
    colours: list[FacetCount]
    price_min: float | None
    price_max: float | None

    @classmethod
    def of(cls, facets: Facets) -> FacetsResponse:
        counts = {name: [FacetCount(value=f.value, count=f.count) for f in getattr(facets, name)]
                  for name in FACET_FIELDS}
        return cls(total=facets.total, price_min=facets.price_min, price_max=facets.price_max, **counts)


@router.get("", response_model=FacetsResponse,
            summary="Categories, brands, sites and colours with product counts, and the price range")
async def get_facets(metadata: MetadataDep, category: str | None = None, site: str | None = None,
                     brand: str | None = None, colour: str | None = None,
                     price_min: Annotated[float | None, Query(ge=0)] = None,
                     price_max: Annotated[float | None, Query(ge=0)] = None) -> FacetsResponse:
    """Counts over the products that the filters admit (all products without filters), most frequent first."""
    where = SearchFilter(category=category, site=site, brand=brand, colour=colour, price_min=price_min,
                         price_max=price_max)
    return FacetsResponse.of(await run_in_threadpool(metadata.facets, None if where.is_empty() else where))
