"""`GET /healthz` (store counts and status) and `GET /metrics` (Prometheus text format)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from snapmode.logs import get_logger
from snapmode.services.access import ApiKeyDep
from snapmode.services.deps import MetricsDep, StateDep
from snapmode.services.problems import problems
from snapmode.services.ratelimit import RateLimitDep

router = APIRouter(tags=["health"])
log = get_logger(__name__)


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    embedder: str
    dim: int
    mode: str
    vectors: int | None  # None: the vector store does not answer
    products: int | None  # None: the metadata store does not answer


@router.get("/healthz", summary="Whether the stores answer, and how much they hold", response_model=Health,
            responses={503: {"model": Health, "description": "a store does not answer (degraded)"}})
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


@router.get("/metrics", summary="Prometheus metrics", dependencies=[ApiKeyDep, RateLimitDep],
            response_class=PlainTextResponse, responses=problems(401, 429))
def metrics(metrics: MetricsDep) -> Response:
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
