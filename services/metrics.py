"""Prometheus metrics of the API: requests, latency, rejected uploads and cache use, in a per-app registry."""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self, rejection_reasons: Iterable[str] = ()) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("snapmode_http_requests", "HTTP requests by route and status",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("snapmode_http_request_duration_seconds", "HTTP request latency",
                                 ["method", "route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.rejected = Counter("snapmode_images_rejected", "Query images refused, by reason", ["reason"],
                                registry=self.registry)
        self.refused = Counter("snapmode_requests_refused", "Requests refused before any work, by reason", ["reason"],
                               registry=self.registry)
        self.cache = Counter("snapmode_search_cache", "Search result cache lookups", ["result"],
                             registry=self.registry)
        self.query_batch = Histogram("snapmode_query_batch_size", "Photo queries answered by one forward pass",
                                     buckets=(1, 2, 4, 8, 16, 32, 64), registry=self.registry)
        # Every known reason and result from the start, at 0: a scrape (and a dashboard) sees them before they happen
        for reason in rejection_reasons:
            self.rejected.labels(reason)
        self.refused.labels("rate_limited")
        for result in ("hit", "miss"):
            self.cache.labels(result)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request, labelled by route template (not raw path) to bound cardinality."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(scope["method"], route).observe(time.perf_counter() - started)
