"""`GET /facets`: the values of category, brand, site and colour with their product counts, and the price range."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from snapmode.interfaces import FACET_FIELDS, Facets
from snapmode.services.access import ApiKeyDep
from snapmode.services.deps import MetadataDep
from snapmode.services.params import FilterValue, Price, filter_of
from snapmode.services.problems import GUARDED, problems
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


@router.get("", response_model=FacetsResponse, responses=problems(*GUARDED, 503),
            summary="Categories, brands, sites and colours with product counts, and the price range")
async def get_facets(metadata: MetadataDep, category: FilterValue = None, site: FilterValue = None,
                     brand: FilterValue = None, colour: FilterValue = None, price_min: Price = None,
                     price_max: Price = None) -> FacetsResponse:
    """Counts over the products that the filters admit (all products without filters), most frequent first."""
    where = filter_of(category, site, brand, colour, price_min, price_max)
    return FacetsResponse.of(await run_in_threadpool(metadata.facets, where))
