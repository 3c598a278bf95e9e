"""`GET /healthz` (store counts and status) and `GET /metrics` (Prometheus text format)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from snapmode.logs import get_logger
from snapmode.services.access import ApiKeyDep
from snapmode.services.deps import MetricsDep, StateDep
from snapmode.services.ratelimit import RateLimitDep

router = APIRouter(tags=["health"])
log = get_logger(__name__)


@router.get("/healthz", summary="Whether the stores answer, and how much they hold")
def healthz(state: StateDep) -> JSONResponse:
    body: dict[str, object] = {"status": "ok", "embedder": state.embedder.name, "dim": state.embedder.dim,
                               "mode": state.settings.mode}
    for name, store in (("vectors", state.vectors), ("products", state.metadata)):
        try:
            body[name] = store.count()
        except Exception as exc:  # noqa: BLE001 - any failure of a store makes the service degraded
            log.warning("health.store_down", store=name, error=str(exc)[:300])
            body[name] = None
            body["status"] = "degraded"
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)


@router.get("/metrics", summary="Prometheus metrics", dependencies=[ApiKeyDep, RateLimitDep])
def metrics(metrics: MetricsDep) -> Response:
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
