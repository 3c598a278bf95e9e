"""Turn refused input and unavailable stores into clear HTTP errors, each a `Problem`, counted and logged."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.exceptions import HTTPException

from snapmode.interfaces import StoreError, StoreUnavailable
from snapmode.logs import get_logger
from snapmode.pipeline.errors import ImageRejected
from snapmode.services.access import RETRY_AFTER_S
from snapmode.services.metrics import Metrics
from snapmode.services.problems import DEFAULT_REASONS, ApiError, FieldError, Problem
from snapmode.services.ratelimit import RateLimited

log = get_logger(__name__)

# HTTP status for each `ImageRejected.reason`; anything not listed is 422.
REJECTION_STATUS = {
    "empty": 422,
    "too_large": 413,
    "not_an_image": 415,
    "corrupt": 422,
    "pixel_bomb": 422,
    "bad_url": 422,
    "private_address": 422,
    "redirect_loop": 422,
    "http_error": 502,
    "unreachable": 504,
    "busy": 503,
    "decode_timeout": 422,
    "scan_bomb": 422,
}

MESSAGES = {
    "empty": "The upload is empty.",
    "too_large": "The image is larger than the configured limit.",
    "not_an_image": "The upload is not an image (JPEG, PNG, GIF, BMP, TIFF or WebP).",
    "corrupt": "The image is truncated or corrupt.",
    "pixel_bomb": "The image has too many pixels to decode safely.",
    "bad_url": "The URL is not an http(s) URL.",
    "private_address": "The URL points to a private or loopback address.",
    "redirect_loop": "The URL redirects too many times.",
    "http_error": "The image URL answered with an error.",
    "unreachable": "The image URL could not be reached.",
    "busy": "The server is decoding as many images as it can; try again shortly.",
    "decode_timeout": "The image takes too long to decode.",
    "scan_bomb": "The JPEG has too many scans to decode safely.",
}


def problem(status: int, reason: str, detail: str, headers: dict[str, str] | None = None,
            errors: list[FieldError] | None = None) -> JSONResponse:
    """The JSON response of one `Problem`."""
    body = Problem(reason=reason, detail=detail, errors=errors).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, headers=headers)


def field_errors(exc: RequestValidationError) -> list[FieldError]:
    """Each refused field of a request: where, what, which rule."""
    return [FieldError(loc=[p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
                       msg=str(e.get("msg", "")), type=str(e.get("type", ""))) for e in jsonable_encoder(exc.errors())]


def allowed_methods(request: Request) -> list[str]:
    """The methods of the resource a request names: those of every route with the path template of the first route
    that matches its path (`/products/{key}` is GET and DELETE, though two routers declare them)."""
    routes = [r for r in request.app.router.routes if isinstance(r, APIRoute)]
    first = next((r for r in routes if r.matches(request.scope)[0] != Match.NONE), None)
    if first is None:
        return []
    return sorted({m for r in routes if r.path == first.path for m in r.methods})


def install_error_handlers(app: FastAPI, metrics: Metrics) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        reason = exc.reason if isinstance(exc, ApiError) else DEFAULT_REASONS.get(exc.status_code, "error")
        headers = exc.headers
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        return problem(exc.status_code, reason, str(exc.detail), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(exc)
        where = "; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in errors[:3])
        return problem(422, "invalid_request", f"invalid request: {where}"[:500], errors=errors)

    @app.exception_handler(ImageRejected)
    async def image_rejected(request: Request, exc: ImageRejected) -> JSONResponse:
        metrics.rejected.labels(exc.reason).inc()
        log.info("api.image_rejected", path=request.url.path, reason=exc.reason, detail=exc.detail[:300])
        message = MESSAGES.get(exc.reason, "The image was refused.")
        headers = {"Retry-After": str(RETRY_AFTER_S)} if exc.reason == "busy" else None
        # A stable code and a short message: the detail (URLs, upstream status, exceptions) stays in the log.
        return problem(REJECTION_STATUS.get(exc.reason, 422), exc.reason, message, headers=headers)

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> JSONResponse:
        metrics.refused.labels("rate_limited").inc()
        return problem(429, "rate_limited", "Too many requests from this client; try again after Retry-After seconds.",
                       headers={"Retry-After": str(exc.retry_after_s)})

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> JSONResponse:
        log.error("api.store_error", path=request.url.path, error=str(exc)[:500])
        if isinstance(exc, StoreUnavailable):
            return problem(503, "store_unavailable", "A store is unavailable; try again later.")
        return problem(500, "store_error", "A store refused the request.")
