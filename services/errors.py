"""Turn refused input and unavailable stores into clear HTTP errors, counted and logged."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from snapmode.interfaces import StoreError, StoreUnavailable
from snapmode.logs import get_logger
from snapmode.pipeline.errors import ImageRejected
from snapmode.services.access import RETRY_AFTER_S
from snapmode.services.metrics import Metrics
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


def install_error_handlers(app: FastAPI, metrics: Metrics) -> None:
    @app.exception_handler(ImageRejected)
    async def image_rejected(request: Request, exc: ImageRejected) -> JSONResponse:
        metrics.rejected.labels(exc.reason).inc()
        log.info("api.image_rejected", path=request.url.path, reason=exc.reason, detail=exc.detail[:300])
        message = MESSAGES.get(exc.reason, "The image was refused.")
        headers = {"Retry-After": str(RETRY_AFTER_S)} if exc.reason == "busy" else None
        # A stable code and a short message: the detail (URLs, upstream status, exceptions) stays in the log.
        return JSONResponse({"detail": message, "reason": exc.reason}, status_code=REJECTION_STATUS.get(exc.reason, 422),
                            headers=headers)

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> JSONResponse:
        metrics.refused.labels("rate_limited").inc()
        return JSONResponse({"detail": "Too many requests from this client; try again after Retry-After seconds.",
                             "reason": "rate_limited"}, status_code=429,
                            headers={"Retry-After": str(exc.retry_after_s)})

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> JSONResponse:
        log.error("api.store_error", path=request.url.path, error=str(exc)[:500])
        status = 503 if isinstance(exc, StoreUnavailable) else 500
        return JSONResponse({"detail": "A store is unavailable; try again later.", "reason": "store_unavailable"},
                            status_code=status)
