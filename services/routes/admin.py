"""Admin routes, behind `SNAPMODE_ADMIN_KEYS`: `DELETE /products/{key}` removes a product from both stores."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter
from pydantic import BaseModel

from snapmode.logs import get_logger
from snapmode.pipeline.steps import delete_products
from snapmode.records import InvalidRecord, Tombstone
from snapmode.services.access import AdminKeyDep
from snapmode.services.deps import StateDep
from snapmode.services.problems import ApiError, problems

log = get_logger(__name__)
router = APIRouter(tags=["admin"], dependencies=[AdminKeyDep])


class Deletion(BaseModel):
    key: str
    deleted: bool  # False: the store holds a version of the product newer than this deletion, which stays
    existed: bool  # the product was listed before this request
    at: datetime  # the deletion's version: older records of the product are refused from now on


@router.delete("/products/{key:path}", response_model=Deletion, responses=problems(401, 403, 422, 503),
               summary="Delete a product from both stores (its tombstone refuses older records of it)")
def delete_product(key: str, state: StateDep) -> Deletion:
    try:
        tombstone = Tombstone.of_key(key, reason="api", at=datetime.now(timezone.utc))
    except InvalidRecord as exc:
        raise ApiError(422, "invalid_key", f"{exc}; keys look like site:product_id") from None
    existed = key in state.metadata.get([key])
    deleted = key in delete_products(state.vectors, state.metadata, [tombstone])
    state.cache.clear()  # a cached answer may hold the product
    log.info("api.product_deleted", key=key, deleted=deleted, existed=existed)
    return Deletion(key=key, deleted=deleted, existed=existed, at=tombstone.crawled_at)
