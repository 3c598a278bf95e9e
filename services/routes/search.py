"""`POST /search` (an uploaded photo, words, or both) and `POST /search/url` (a photo at an http(s) URL)."""

from __future__ import annotations

import json
import time
from typing import Annotated
from urllib.parse import quote, urlparse

from fastapi import APIRouter, Form, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from snapmode.pipeline.errors import ImageRejected
from snapmode.pipeline.fetch import fetch_bytes
from snapmode.pipeline.options import fetch_options
from snapmode.search.service import Page, Ranking, SearchResult, has_words
from snapmode.services.access import ApiKeyDep, SearchSlotDep
from snapmode.services.cache import NoCache, cache_key
from snapmode.services.deps import AppState, MetricsDep, StateDep
from snapmode.services.metrics import Metrics
from snapmode.services.params import SearchParams, checked_k, checked_offset
from snapmode.services.problems import GUARDED, ApiError, problems
from snapmode.services.ratelimit import RateLimitDep

router = APIRouter(prefix="/search", tags=["search"], dependencies=[ApiKeyDep, RateLimitDep, SearchSlotDep])


class SearchForm(SearchParams):
    """The form of `POST /search`: a photo, words, or both, with the search parameters."""

    # without a photo, words are required (if/then rather than anyOf: code generators build a form class from it)
    model_config = ConfigDict(json_schema_extra={
        "if": {"not": {"required": ["file"]}},
        "then": {"required": ["q"], "properties": {"q": {"type": "string", "pattern": r"\S"}}}})

    file: UploadFile | None = Field(None, description="the query photo (JPEG, PNG, GIF, BMP, TIFF or WebP, within "
                                                      "SNAPMODE_MAX_IMAGE_BYTES and SNAPMODE_MAX_IMAGE_PIXELS); "
                                                      "optional with q",
                                    json_schema_extra={"format": "binary"})  # a file to OpenAPI 3.0 tools too
    photo_id: str | None = Field(None, pattern=r"^[0-9a-f]{32}$",
                                 description="instead of file: the `photo_id` of an earlier answer, while the server "
                                             "keeps that photo (SNAPMODE_SHARED_PHOTO_TTL_S); 404 photo_expired "
                                             "after")


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
    photo_id: str | None = Field(None, description="the uploaded photo's id while the server keeps it: POST /search "
                                                   "with photo_id searches with it again (a shared link)")
    results: list[ApiResult]


async def run_search(state: AppState, metrics: Metrics, data: bytes | None, params: SearchParams, where: str,
                     photo: str | None = None, keep: bool = False) -> Response:
    """Answer from the cache, or search (a query ranked by its photo alone through the query batcher, else in a worker
    thread) and cache the answer. The results are serialised once: the cache keeps those bytes and the response
    carries them. With `keep`, an uploaded photo that was searched with (not refused) is kept for shared links, and
    the answer names it by `photo_id` (as it names `photo`, a kept photo searched with again)."""
    started = time.perf_counter()
    k = checked_k(params.k, state.settings.search_k_max, where)
    offset = checked_offset(params.offset, state.settings.search_offset_max, where)
    text = params.q.strip() if params.q and params.q.strip() else None
    if data is None and text is None:
        raise RequestValidationError([{"loc": (where, "q"), "type": "missing",
                                       "msg": "a search needs a photo (file), words (q), or both"}])
    if not has_words(text):
        text = None  # nothing a text search can match: the photo alone, or no results
    box = params.box()
    if box is not None and data is None:
        raise RequestValidationError([{"loc": (where, "bbox"), "type": "missing",
                                       "msg": "bbox is a region of the photo: it needs a photo"}])
    if data is None and text is None:
        return search_response(k, offset, "text", started, False, params.collapse is not False, b"[]")
    page = Page(k, params.where(), offset, collapse=params.collapse is not False)
    ranking = state.search.ranking(data is not None, text)
    key = cache_key(state.embedder.name, data or b"", k, page.where, offset=offset, text=text,
                    collapse=page.collapse, box=params.bbox)
    cached = not isinstance(state.cache, NoCache) and (raw := await run_in_threadpool(state.cache.get, key)) is not None
    if cached:
        metrics.cache.labels("hit").inc()
    else:
        metrics.cache.labels("miss").inc()
        if state.batcher is not None and ranking == "image" and data is not None:
            found = await state.batcher.asearch_image(data, page, box)
        else:
            found = await run_in_threadpool(state.search.find, data, text, page, box)
        raw = results_json(found)
        if not isinstance(state.cache, NoCache):
            await run_in_threadpool(state.cache.set, key, raw)
    if keep and data is not None:
        photo = await run_in_threadpool(state.photos.keep, data)
    return search_response(k, offset, ranking, started, cached, page.collapse, raw, photo)


def search_response(k: int, offset: int, ranking: Ranking, started: float, cached: bool, collapse: bool,
                    raw: bytes, photo: str | None = None) -> Response:
    """A `SearchResponse` whose results are the JSON array `raw`."""
    head = {"k": k, "offset": offset, "ranking": ranking,
            "took_ms": round((time.perf_counter() - started) * 1000, 2), "cached": cached, "collapse": collapse,
            **({"photo_id": photo} if photo else {})}
    compact = json.dumps(head, separators=(",", ":"))[:-1].encode()  # as compact as the results and FastAPI's bodies
    return Response(compact + b',"results":' + raw + b"}", media_type="application/json")


def results_json(found: list[SearchResult]) -> bytes:
    """The JSON array of `found` as `ApiResult`s."""
    return _API_RESULTS.dump_json(api_results(found))


def api_results(found: list[SearchResult]) -> list[ApiResult]:
    return [ApiResult.model_construct(**dict(r), image_path=image_path(r)) for r in found]


def image_path(result: SearchResult) -> str:
    return f"/images/{result.image_id}?product={quote(result.product_key, safe='')}"


@router.post("", response_model=SearchResponse, responses=problems(*GUARDED, 400, 404, 413, 415, 503),
             summary="Products that look like an uploaded photo, match words (q), or both (fused rankings)")
async def search_upload(request: Request, state: StateDep, metrics: MetricsDep,
                        form: Annotated[SearchForm, Form(media_type="multipart/form-data")]) -> Response:
    """Every parameter is a field of the multipart form."""
    if request.query_params:
        raise RequestValidationError([{"loc": ("query", name), "type": "extra_forbidden",
                                       "msg": "POST /search takes its parameters as form fields"}
                                      for name in request.query_params])
    params = SearchParams(**form.model_dump(exclude={"file", "photo_id"}))
    if form.photo_id is not None:
        if form.file is not None:
            raise RequestValidationError([{"loc": ("body", "photo_id"), "type": "extra_forbidden",
                                           "msg": "a search takes a photo as file or as photo_id, not both"}])
        data = await run_in_threadpool(state.photos.get, form.photo_id)
        if data is None:
            raise ApiError(404, "photo_expired", "The shared photo is no longer kept; search with the photo again.")
        return await run_search(state, metrics, data, params, "body", form.photo_id)
    if form.file is None:
        return await run_search(state, metrics, None, params, "body")
    limit = state.settings.max_image_bytes
    if form.file.size is not None and form.file.size > limit:
        raise ImageRejected("too_large", f"{form.file.size} bytes > limit {limit}")
    data = await form.file.read(limit + 1)
    if len(data) > limit:
        raise ImageRejected("too_large", f"more than {limit} bytes")
    return await run_search(state, metrics, data, params, "body", keep=True)


@router.post("/url", response_model=SearchResponse, responses=problems(*GUARDED, 400, 413, 415, 502, 503, 504),
             summary="Products that look like the photo at a URL")
async def search_url(state: StateDep, metrics: MetricsDep, body: UrlQuery) -> Response:
    try:
        parsed = urlparse(body.url)
        host = parsed.hostname
    except ValueError:  # a malformed IPv6 host, a bad port
        raise ImageRejected("bad_url", f"unparseable URL {body.url[:200]!r}") from None
    if parsed.scheme not in ("http", "https") or not host:
        raise ImageRejected("bad_url", f"only http(s) URLs are fetched, got {body.url[:200]!r}")
    s = state.settings
    data = await run_in_threadpool(lambda: fetch_bytes(body.url, max_bytes=s.max_image_bytes,
                                                       options=fetch_options(s)))
    return await run_search(state, metrics, data, SearchParams(**body.model_dump(exclude={"url"})), "body")
