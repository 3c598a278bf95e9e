"""One log line per request, and a request id on every line it causes: the client's `X-Request-ID` when it is a
sane one (a proxy's), else a new one, returned in the response's `X-Request-ID`."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from snapmode.logs import get_logger

log = get_logger("snapmode.api")
SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
QUIET_PATHS = ("/healthz", "/metrics")  # polled by health checks and scrapers: logged at debug


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or ()).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if SANE_ID.match(given) else uuid.uuid4().hex
        started, status = time.perf_counter(), 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                client = scope.get("client")
                line = log.debug if scope["path"] in QUIET_PATHS else log.info
                line("api.request", method=scope["method"], path=scope["path"], status=status,
                     ms=round((time.perf_counter() - started) * 1000, 1), client=client[0] if client else None)
