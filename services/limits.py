"""Refuse request bodies over a size limit before they are read: by Content-Length, then by counting bytes."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from snapmode.services.problems import ApiError, Problem


class BodySizeLimit:
    """413 for a body announced or streamed past `max_bytes`; reading stops at the first byte over."""

    def __init__(self, app: ASGIApp, max_bytes: int, on_reject: Callable[[], None] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.on_reject = on_reject or (lambda: None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            self.on_reject()
            detail = f"request body of {int(declared)} bytes exceeds the limit of {self.max_bytes} bytes"
            response = JSONResponse(Problem(reason="too_large", detail=detail).model_dump(exclude_none=True),
                                    status_code=413)
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    self.on_reject()
                    raise ApiError(413, "too_large", f"request body exceeds the limit of {self.max_bytes} bytes")
            return message

        await self.app(scope, counted, send)
