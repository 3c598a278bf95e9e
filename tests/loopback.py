"""HTTP servers on a free loopback port, for tests that fetch or crawl over real sockets."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

Response = tuple[int, str, bytes, dict[str, str]]  # status, content type, body, extra headers
NOT_FOUND: Response = (404, "text/plain", b"not found", {})


def route_handler(respond: Callable[[str], Response]) -> type[BaseHTTPRequestHandler]:
    """A quiet request handler that answers each GET with `respond(path)` (the path includes the query)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            status, kind, body, headers = respond(self.path)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def routes_handler(routes: dict[str, Response]) -> type[BaseHTTPRequestHandler]:
    """Answers from a fixed table; other paths are 404."""
    return route_handler(lambda path: routes.get(path, NOT_FOUND))


def writer_handler(write: Callable[[str, BinaryIO], None]) -> type[BaseHTTPRequestHandler]:
    """A quiet handler that lets `write(path, wfile)` put raw bytes on the socket (status line and headers included),
    slowly or endlessly; a client that hangs up ends it."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            try:
                write(self.path, self.wfile)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def directory_handler(root: Path) -> type[BaseHTTPRequestHandler]:
    """Serves the files under `root`, quietly."""

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


class LoopbackServer:
    """`handler` served from a daemon thread on `host` (127.0.0.1, or another loopback address such as 127.0.0.2) and
    `port` (0: a free one) until `close()` (or the `with` block ends)."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = ThreadingHTTPServer((host, port), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def base(self) -> str:
        return f"http://{self.server.server_address[0]}:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
