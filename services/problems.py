"""The one error body of the API (`Problem`: a stable `reason`, a short `detail`), the exception that carries it, and
the responses each operation documents."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel, Field


class FieldError(BaseModel):
    """One refused part of a request: where it is, and why."""

    loc: list[str | int] = Field(description="where: body, query, path, header or form, then the field")
    msg: str
    type: str


class Problem(BaseModel):
    """Every error the API answers: `reason` for code to branch on, `detail` for people to read."""

    reason: str = Field(description="a stable code, e.g. invalid_request, not_found, too_large, rate_limited, "
                                    "store_unavailable")
    detail: str = Field(description="a short message; URLs, upstream statuses and exceptions stay in the log")
    errors: list[FieldError] | None = Field(None, description="for invalid_request: each refused field")


class ApiError(HTTPException):
    """An HTTP error answered as a `Problem` with `reason`."""

    def __init__(self, status_code: int, reason: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code, detail=detail, headers=headers)
        self.reason = reason


# The reason of an HTTPException raised without one (by the framework, or a dependency), by status.
DEFAULT_REASONS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                   405: "method_not_allowed", 413: "too_large", 422: "invalid_request", 429: "rate_limited",
                   500: "internal_error", 503: "unavailable"}

DESCRIPTIONS = {
    400: "a body that cannot be parsed as its media type (bad_request)",
    401: "no valid API key (only when SNAPMODE_API_KEYS is set)",
    403: "admin routes are off (no SNAPMODE_ADMIN_KEYS)",
    404: "no such product or image",
    413: "the photo, or the request body, is larger than the configured limit (too_large)",
    415: "the upload is not an image (not_an_image)",
    422: "a parameter outside the documented limits (invalid_request, with `errors`), or a photo that cannot be "
         "decoded safely (empty, corrupt, pixel_bomb, scan_bomb, decode_timeout, bad_url, private_address, "
         "redirect_loop)",
    429: "too many requests from this client (rate_limited, Retry-After)",
    502: "the image URL answered with an error (http_error)",
    503: "the server is busy (busy, Retry-After) or a store is away (store_unavailable)",
    504: "the image URL could not be reached (unreachable)",
}

RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again",
                               "schema": {"type": "integer", "minimum": 1}}}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented error responses of an operation, each a `Problem`."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        out[status] = {"model": Problem, "description": DESCRIPTIONS[status]}
        if status in (429, 503):
            out[status]["headers"] = RETRY_AFTER
    return out


# The statuses every route behind the API key and rate limit may answer, besides its own.
GUARDED = (401, 422, 429)
