"""`POST /search` (an uploaded photo) and `POST /search/url` (a photo at an http(s) URL)."""

from __future__ import annotations

import json
import time
from typing import Annotated
from urllib.parse import quote, urlparse

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from snapmode.interfaces import SearchFilter
from snapmode.pipeline.errors import ImageRejected
from snapmode.pipeline.fetch import fetch_bytes
from snapmode.platform import fetch_options
from snapmode.search import SearchResult
from snapmode.services.access import ApiKeyDep, SearchSlotDep
from snapmode.services.cache import cache_key
from snapmode.services.deps import AppState, MetricsDep, StateDep
from snapmode.services.metrics import Metrics

router = APIRouter(prefix="/search", tags=["search"], dependencies=[ApiKeyDep, SearchSlotDep])


class SearchParams(BaseModel):
    """How many products to return and which ones may appear; given as form fields or query parameters."""

    k: int | None = Field(None, description="number of products (default 10)")
    category: str | None = None
    site: str | None = None
    brand: str | None = None
    colour: str | None = None
    price_min: float | None = Field(None, ge=0)
    price_max: float | None = Field(None, ge=0)

    def merged(self, other: SearchParams) -> SearchParams:
        """These values, with the ones of `other` filling the gaps."""
        return SearchParams(**{**other.model_dump(exclude_none=True), **self.model_dump(exclude_none=True)})

    def where(self) -> SearchFilter | None:
        where = SearchFilter(**self.model_dump(exclude={"k"}))
        return None if where.is_empty() else where


class UrlQuery(SearchParams):
    url: str = Field(min_length=1, max_length=2048, description="http(s) URL of a photo")


class ApiResult(SearchResult):
    image_path: str = Field(description="where this API serves the matched image")


class SearchResponse(BaseModel):
    k: int
    took_ms: float
    cached: bool
    results: list[ApiResult]


def checked_k(k: int | None, k_max: int) -> int:
    k = 10 if k is None else k
    if not 1 <= k <= k_max:
        raise HTTPException(422, detail=f"k must be between 1 and {k_max}, got {k}")
    return k


async def run_search(state: AppState, metrics: Metrics, data: bytes, params: SearchParams) -> SearchResponse:
    """Answer from the cache, or search in a worker thread and cache the answer."""
    started = time.perf_counter()
    k = checked_k(params.k, state.settings.search_k_max)
    where = params.where()
    key = cache_key(state.embedder.name, data, k, where)
    if (raw := await run_in_threadpool(state.cache.get, key)) is not None:
        metrics.cache.labels("hit").inc()
        results = [ApiResult.model_validate(r) for r in json.loads(raw)]
        cached = True
    else:
        metrics.cache.labels("miss").inc()
        found = await run_in_threadpool(state.search.search_image, data, k, where)
        results = [ApiResult(**r.model_dump(), image_path=image_path(r)) for r in found]
        payload = json.dumps([r.model_dump(mode="json") for r in results]).encode()
        await run_in_threadpool(state.cache.set, key, payload)
        cached = False
    return SearchResponse(k=k, took_ms=round((time.perf_counter() - started) * 1000, 2), cached=cached,
                          results=results)


def image_path(result: SearchResult) -> str:
    return f"/images/{result.image_id}?product={quote(result.product_key, safe='')}"


@router.post("", response_model=SearchResponse, summary="Products that look like an uploaded photo")
async def search_upload(state: StateDep, metrics: MetricsDep,
                        file: Annotated[UploadFile, File(description="the query photo")],
                        form: Annotated[SearchParams, Form()],
                        query: Annotated[SearchParams, Query()]) -> SearchResponse:
    limit = state.settings.max_image_bytes
    if file.size is not None and file.size > limit:
        raise ImageRejected("too_large", f"{file.size} bytes > limit {limit}")
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ImageRejected("too_large", f"more than {limit} bytes")
    return await run_search(state, metrics, data, form.merged(query))


@router.post("/url", response_model=SearchResponse, summary="Products that look like the photo at a URL")
async def search_url(state: StateDep, metrics: MetricsDep, body: UrlQuery) -> SearchResponse:
    parsed = urlparse(body.url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ImageRejected("bad_url", f"only http(s) URLs are fetched, got {body.url[:200]!r}")
    s = state.settings
    data = await run_in_threadpool(lambda: fetch_bytes(body.url, max_bytes=s.max_image_bytes,
                                                       options=fetch_options(s)))
    return await run_search(state, metrics, data, SearchParams(**body.model_dump(exclude={"url"})))
