"""`POST /search` (an uploaded photo, words, or both) and `POST /search/url` (a photo at an http(s) URL)."""

from __future__ import annotations

import json
import time
from typing import Annotated
from urllib.parse import quote, urlparse

from fastapi import APIRouter, File, Form, HTTPException, Query, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, TypeAdapter

from snapmode.interfaces import SearchFilter
from snapmode.pipeline.errors import ImageRejected
from snapmode.pipeline.fetch import fetch_bytes
from snapmode.pipeline.options import fetch_options
from snapmode.search.service import Page, Ranking, SearchResult, has_words
from snapmode.services.access import ApiKeyDep, SearchSlotDep
from snapmode.services.cache import NoCache, cache_key
from snapmode.services.deps import AppState, MetricsDep, StateDep
from snapmode.services.metrics import Metrics
from snapmode.services.ratelimit import RateLimitDep

router = APIRouter(prefix="/search", tags=["search"], dependencies=[ApiKeyDep, RateLimitDep, SearchSlotDep])


class SearchParams(BaseModel):
    """How many products to return, from which rank, which ones may appear, and optional words; given as form
    fields or query parameters."""

    k: int | None = Field(None, description="number of products (default 10)")
    offset: int | None = Field(None, description="results to skip, for the next page (default 0)")
    q: str | None = Field(None, max_length=500, description="words of title, brand or description, fused with the "
                                                            "photo's ranking (or alone, without a photo)")
    category: str | None = None
    site: str | None = None
    brand: str | None = None
    colour: str | None = None
    price_min: float | None = Field(None, ge=0)
    price_max: float | None = Field(None, ge=0)
    collapse: bool | None = Field(None, description="list each near-duplicate product (marked at ingestion) under "
                                                    "its original ranked above it, in `duplicates`, instead of "
                                                    "showing it (default true); false shows every product")

    def merged(self, other: SearchParams) -> SearchParams:
        """These values, with the ones of `other` filling the gaps."""
        return SearchParams(**{**other.model_dump(exclude_none=True), **self.model_dump(exclude_none=True)})

    def where(self) -> SearchFilter | None:
        where = SearchFilter(**self.model_dump(exclude={"k", "offset", "q", "collapse"}))
        return None if where.is_empty() else where


class UrlQuery(SearchParams):
    url: str = Field(min_length=1, max_length=2048, description="http(s) URL of a photo")


class ApiResult(SearchResult):
    image_path: str = Field(description="where this API serves the matched image")


_API_RESULTS = TypeAdapter(list[ApiResult])


class SearchResponse(BaseModel):
    k: int
    offset: int = 0
    ranking: Ranking = Field(
        "image", description="image: score is the best image's cosine similarity; text or hybrid: score is the "
                             "reciprocal rank fusion score")
    took_ms: float
    cached: bool
    collapse: bool = Field(True, description="whether near-duplicates were collapsed into their originals")
    results: list[ApiResult]


def checked_k(k: int | None, k_max: int) -> int:
    k = 10 if k is None else k
    if not 1 <= k <= k_max:
        raise HTTPException(422, detail=f"k must be between 1 and {k_max}, got {k}")
    return k


def checked_offset(offset: int | None, offset_max: int) -> int:
    offset = 0 if offset is None else offset
    if not 0 <= offset <= offset_max:
        raise HTTPException(422, detail=f"offset must be between 0 and {offset_max}, got {offset}")
    return offset


async def run_search(state: AppState, metrics: Metrics, data: bytes | None, params: SearchParams) -> Response:
    """Answer from the cache, or search (a query ranked by its photo alone through the query batcher, else in a worker
    thread) and cache the answer. The results are serialised once: the cache keeps those bytes and the response
    carries them."""
    started = time.perf_counter()
    k = checked_k(params.k, state.settings.search_k_max)
    offset = checked_offset(params.offset, state.settings.search_offset_max)
    text = params.q.strip() if has_words(params.q) else None
    if data is None and text is None:
        raise HTTPException(422, detail="a search needs a photo (file), words (q) with letters or digits, or both")
    page = Page(k, params.where(), offset, collapse=params.collapse is not False)
    ranking = state.search.ranking(data is not None, text)
    key = cache_key(state.embedder.name, data or b"", k, page.where, offset=offset, text=text,
                    collapse=page.collapse)
    cached = not isinstance(state.cache, NoCache) and (raw := await run_in_threadpool(state.cache.get, key)) is not None
    if cached:
        metrics.cache.labels("hit").inc()
    else:
        metrics.cache.labels("miss").inc()
        if state.batcher is not None and ranking == "image" and data is not None:
            found = await state.batcher.asearch_image(data, page)
        else:
            found = await run_in_threadpool(state.search.find, data, text, page)
        raw = results_json(found)
        if not isinstance(state.cache, NoCache):
            await run_in_threadpool(state.cache.set, key, raw)
    head = {"k": k, "offset": offset, "ranking": ranking,
            "took_ms": round((time.perf_counter() - started) * 1000, 2), "cached": cached, "collapse": page.collapse}
    return Response(json.dumps(head)[:-1].encode() + b', "results": ' + raw + b"}", media_type="application/json")


def results_json(found: list[SearchResult]) -> bytes:
    """The JSON array of `found` as `ApiResult`s."""
    return _API_RESULTS.dump_json(api_results(found))


def api_results(found: list[SearchResult]) -> list[ApiResult]:
    return [ApiResult.model_construct(**dict(r), image_path=image_path(r)) for r in found]


def image_path(result: SearchResult) -> str:
    return f"/images/{result.image_id}?product={quote(result.product_key, safe='')}"


@router.post("", response_model=SearchResponse,
             summary="Products that look like an uploaded photo, match words (q), or both (fused rankings)")
async def search_upload(state: StateDep, metrics: MetricsDep,
                        form: Annotated[SearchParams, Form()],
                        query: Annotated[SearchParams, Query()],
                        file: Annotated[UploadFile | None, File(description="the query photo; optional with q")]
                        = None) -> Response:
    if file is None:
        return await run_search(state, metrics, None, form.merged(query))
    limit = state.settings.max_image_bytes
    if file.size is not None and file.size > limit:
        raise ImageRejected("too_large", f"{file.size} bytes > limit {limit}")
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ImageRejected("too_large", f"more than {limit} bytes")
    return await run_search(state, metrics, data, form.merged(query))


@router.post("/url", response_model=SearchResponse, summary="Products that look like the photo at a URL")
async def search_url(state: StateDep, metrics: MetricsDep, body: UrlQuery) -> Response:
    parsed = urlparse(body.url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ImageRejected("bad_url", f"only http(s) URLs are fetched, got {body.url[:200]!r}")
    s = state.settings
    data = await run_in_threadpool(lambda: fetch_bytes(body.url, max_bytes=s.max_image_bytes,
                                                       options=fetch_options(s)))
    return await run_search(state, metrics, data, SearchParams(**body.model_dump(exclude={"url"})))
