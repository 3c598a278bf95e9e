"""`GET /products/{key}` (one product by `site:product_id`) and `GET /products` (text search with filters)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from snapmode.interfaces import SearchFilter
from snapmode.records import ProductRecord
from snapmode.services.access import ApiKeyDep
from snapmode.services.deps import MetadataDep

router = APIRouter(prefix="/products", tags=["products"], dependencies=[ApiKeyDep])


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


@router.get("", response_model=list[Product], summary="Products matching words and filters")
def list_products(metadata: MetadataDep,
                  q: Annotated[str | None, Query(max_length=500, description="words of title, brand, description")]
                  = None,
                  category: str | None = None, site: str | None = None, brand: str | None = None,
                  colour: str | None = None,
                  price_min: Annotated[float | None, Query(ge=0)] = None,
                  price_max: Annotated[float | None, Query(ge=0)] = None,
                  limit: Annotated[int, Query(ge=1, le=200)] = 20) -> list[Product]:
    where = SearchFilter(category=category, site=site, brand=brand, colour=colour, price_min=price_min,
                         price_max=price_max)
    return [Product.of(r) for r in metadata.query(q, None if where.is_empty() else where, limit)]


@router.get("/{key:path}", response_model=Product, summary="One product by its key, site:product_id")
def get_product(key: str, metadata: MetadataDep) -> Product:
    record = metadata.get([key]).get(key)
    if record is None:
        raise HTTPException(404, detail=f"no product {key!r}; keys look like site:product_id")
    return Product.of(record)
