"""`GET /products/{key}` (one product by `site:product_id`), `GET /products/{key}/similar` (more like it, from its
stored vectors) and `GET /products` (text search with filters, paged)."""

from __future__ import annotations

import time
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from snapmode.records import ProductRecord
from snapmode.search.service import UnknownProduct
from snapmode.services.access import ApiKeyDep, SearchSlotDep
from snapmode.services.deps import MetadataDep, StateDep
from snapmode.services.ratelimit import RateLimitDep
from snapmode.services.params import FilterValue, Price, checked_k, checked_offset, filter_of
from snapmode.services.problems import GUARDED, ApiError, problems
from snapmode.services.routes.search import SearchResponse, api_results

router = APIRouter(prefix="/products", tags=["products"], dependencies=[ApiKeyDep, RateLimitDep])


class ProductImage(BaseModel):
    image_id: str
    url: str
    position: int
    image_path: str


class Product(BaseModel):
    key: str
    record: ProductRecord
    images: list[ProductImage]

    @classmethod
    def of(cls, record: ProductRecord) -> Product:
        product = quote(record.key, safe="")
        return cls(key=record.key, record=record,
                   images=[ProductImage(**ref.model_dump(), image_path=f"/images/{ref.image_id}?product={product}")
                           for ref in record.images()])


@router.get("", response_model=list[Product], responses=problems(*GUARDED, 503),
            summary="Products matching words and filters")
def list_products(metadata: MetadataDep,
                  q: Annotated[str | None, Query(max_length=500, description="words of title, brand, description")]
                  = None,
                  category: FilterValue = None, site: FilterValue = None, brand: FilterValue = None,
                  colour: FilterValue = None, price_min: Price = None, price_max: Price = None,
                  limit: Annotated[int, Query(ge=1, le=200)] = 20,
                  offset: Annotated[int, Query(ge=0, le=100_000, description="products to skip")] = 0
                  ) -> list[Product]:
    where = filter_of(category, site, brand, colour, price_min, price_max)
    return [Product.of(r) for r in metadata.query(q, where, limit, offset)]


@router.get("/{key:path}/similar", response_model=SearchResponse, dependencies=[SearchSlotDep],
            responses=problems(*GUARDED, 404, 503), summary="More like this: the products nearest to a product's stored images, the product left out")
async def similar_products(key: str, state: StateDep,
                           k: Annotated[int | None, Query(ge=1, description="number of products (default 10); the "
                                                                            "most is SNAPMODE_SEARCH_K_MAX")] = None,
                           offset: Annotated[int | None, Query(ge=0, description="results to skip (default 0); the "
                                                                                 "most is SNAPMODE_SEARCH_OFFSET_MAX")]
                           = None,
                           category: FilterValue = None, site: FilterValue = None, brand: FilterValue = None,
                           colour: FilterValue = None, price_min: Price = None, price_max: Price = None,
                           collapse: Annotated[bool, Query(description="near-duplicates listed under their original "
                                                                       "(in `duplicates`); false shows them all")]
                           = True) -> SearchResponse:
    """Nothing is uploaded or embedded: the product's vectors are read from the vector store."""
    started = time.perf_counter()
    k = checked_k(k, state.settings.search_k_max)
    offset = checked_offset(offset, state.settings.search_offset_max)
    where = filter_of(category, site, brand, colour, price_min, price_max)
    try:
        found = await run_in_threadpool(state.search.similar, key, k, where, offset, collapse)
    except UnknownProduct as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    return SearchResponse(k=k, offset=offset, took_ms=round((time.perf_counter() - started) * 1000, 2), cached=False,
                          collapse=collapse, results=api_results(found))


@router.get("/{key:path}", response_model=Product, responses=problems(*GUARDED, 404, 503),
            summary="One product by its key, site:product_id")
def get_product(key: str, metadata: MetadataDep) -> Product:
    record = metadata.get([key]).get(key)
    if record is None:
        raise ApiError(404, "not_found", f"no product {key!r}; keys look like site:product_id")
    return Product.of(record)
