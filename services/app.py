"""The FastAPI application: the platform built once in `lifespan`, one router per resource, the web page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from snapmode.config import Settings
from snapmode.interfaces import Embedder
from snapmode.logs import get_logger
from snapmode.platform import Platform
from snapmode.services.access import SearchSlots
from snapmode.services.batching import QueryBatcher
from snapmode.services.cache import build_cache
from snapmode.services.request_log import RequestLog
from snapmode.services.shared_photos import build_shared_photos
from snapmode.services.contract import install_contract
from snapmode.services.deps import AppState
from snapmode.services.errors import REJECTION_STATUS, install_error_handlers
from snapmode.services.limits import BodySizeLimit
from snapmode.services.metrics import Metrics, MetricsMiddleware
from snapmode.services.ratelimit import ClientRateLimit
from snapmode.services.routes import admin, facets, health, images, photos, products, search

log = get_logger(__name__)

STATIC = Path(__file__).parent / "static"
MULTIPART_OVERHEAD = 64 * 1024  # room for the multipart framing and form fields around an upload


def operation_id(route: APIRoute) -> str:
    """An operation's id is its function's name (`search_upload`, `get_product`): what generated clients call it."""
    return route.name


def create_app(settings: Settings, *, embedder: Embedder | None = None) -> FastAPI:
    """The API for `settings`. Pass `embedder` to share an already loaded model (tests, notebooks)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        platform = Platform.build(settings, serving=True, embedder=embedder)
        cache = build_cache(redis_url=settings.redis_url, ttl_s=settings.cache_ttl_s,
                            max_items=settings.cache_max_items, redis_password=settings.redis_secret)
        search = platform.search  # built before the first request
        batcher = QueryBatcher(search, wait_s=settings.query_batch_wait_ms / 1000, max_batch=settings.query_batch_max,
                               workers=settings.query_batch_workers, on_batch=metrics.query_batch.observe
                               ) if settings.query_batch_wait_ms > 0 else None
        photos = build_shared_photos(redis_url=settings.redis_url, ttl_s=settings.shared_photo_ttl_s,
                                     max_mb=settings.shared_photo_max_mb, redis_password=settings.redis_secret)
        app.state.snapmode = AppState(platform=platform, cache=cache, batcher=batcher, photos=photos)
        log.info("api.started", embedder=platform.embedder.name, model_id=platform.embedder.model_id,
                 vectors=platform.vectors.count(), products=platform.metadata.count(),
                 query_batch_wait_ms=settings.query_batch_wait_ms if batcher else 0)
        try:
            yield
        finally:
            if batcher is not None:
                batcher.close()
            platform.close()
            for store in (cache, photos):
                if close := getattr(store, "close", None):
                    close()

    app = FastAPI(title="SnapMode", summary="Find visually similar products by photo.", version="0.1.0",
                  lifespan=lifespan, generate_unique_id_function=operation_id)
    metrics = Metrics(rejection_reasons=REJECTION_STATUS)
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.search_slots = SearchSlots(settings.max_concurrent_searches)
    app.state.rate_limit = ClientRateLimit.from_settings(settings)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_image_bytes + MULTIPART_OVERHEAD,
                       on_reject=lambda: metrics.rejected.labels("too_large").inc())
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestLog)  # outermost: its id is on every line the request causes
    install_error_handlers(app, metrics)
    install_contract(app, settings)
    for router in (search.router, photos.router, products.router, admin.router, facets.router, images.router,
                   health.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    return app
