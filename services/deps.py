"""The parts a route needs, as `Annotated` dependencies read from the state that `lifespan` built."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from snapmode.config import Settings
from snapmode.interfaces import Embedder, MetadataStore, VectorStore
from snapmode.platform import Platform
from snapmode.search.service import SearchService
from snapmode.services.batching import QueryBatcher
from snapmode.services.cache import ResultCache
from snapmode.services.metrics import Metrics
from snapmode.services.shared_photos import NoPhotos, SharedPhotos


@dataclass
class AppState:
    """Everything built once per process in `lifespan`: the platform's parts, the result cache, the query batcher."""

    platform: Platform
    cache: ResultCache
    batcher: QueryBatcher | None = None  # None: each photo search runs alone (SNAPMODE_QUERY_BATCH_WAIT_MS=0)
    photos: SharedPhotos = field(default_factory=NoPhotos)  # uploaded query photos, by id, for shared links

    @property
    def settings(self) -> Settings:
        return self.platform.settings

    @property
    def embedder(self) -> Embedder:
        return self.platform.embedder

    @property
    def vectors(self) -> VectorStore:
        return self.platform.vectors

    @property
    def metadata(self) -> MetadataStore:
        return self.platform.metadata

    @property
    def search(self) -> SearchService:
        return self.platform.search


def get_state(request: Request) -> AppState:
    return request.app.state.snapmode


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


def get_metadata(request: Request) -> MetadataStore:
    return get_state(request).metadata


StateDep = Annotated[AppState, Depends(get_state)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
MetadataDep = Annotated[MetadataStore, Depends(get_metadata)]
