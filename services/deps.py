"""The parts a route needs, as `Annotated` dependencies read from the state that `lifespan` built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from snapmode.services.batching import QueryBatcher
from snapmode.config import Settings
from snapmode.interfaces import Embedder, MetadataStore, VectorStore
from snapmode.search.service import SearchService
from snapmode.services.cache import ResultCache
from snapmode.services.metrics import Metrics


@dataclass
class AppState:
    """Everything built once per process in `lifespan`."""

    settings: Settings
    embedder: Embedder
    vectors: VectorStore
    metadata: MetadataStore
    search: SearchService
    cache: ResultCache
    batcher: QueryBatcher | None = None  # None: each photo search runs alone (SNAPMODE_QUERY_BATCH_WAIT_MS=0)


def get_state(request: Request) -> AppState:
    return request.app.state.snapmode


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


def get_search(request: Request) -> SearchService:
    return get_state(request).search


def get_metadata(request: Request) -> MetadataStore:
    return get_state(request).metadata


def get_cache(request: Request) -> ResultCache:
    return get_state(request).cache


StateDep = Annotated[AppState, Depends(get_state)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
SearchDep = Annotated[SearchService, Depends(get_search)]
MetadataDep = Annotated[MetadataStore, Depends(get_metadata)]
CacheDep = Annotated[ResultCache, Depends(get_cache)]
