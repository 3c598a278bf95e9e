"""HTTP servers on a free loopback port, for tests that fetch or crawl over real sockets."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

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


def directory_handler(root: Path) -> type[BaseHTTPRequestHandler]:
    """Serves the files under `root`, quietly."""

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


class LoopbackServer:
    """`handler` served from a daemon thread on 127.0.0.1 and a free port until `close()` (or the `with` block ends)."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
