"""TLS through the pinned transport, against a real TLS server on loopback: the connection goes to the address the
check let through, yet the certificate is verified against the URL's host name, which is also the SNI sent."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import trustme

from snapmode.pipeline.pinned import PinnedTransport

HOST = "shop.test"
BODY = b"\x89PNG\r\n\x1a\n not really an image"


class Served:
    def __init__(self, port: int, names: list[str | None]) -> None:
        self.port, self.names = port, names


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def served(ca: trustme.CA) -> Iterator[Served]:
    """An HTTPS server on 127.0.0.1 whose certificate names `HOST` only; it records the SNI of each handshake."""
    names: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

        def log_message(self, *args: object) -> None:
            pass

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(HOST).configure_cert(context)
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Served(server.server_address[1], names)
    server.shutdown()
    server.server_close()


def client(ssl_context: ssl.SSLContext | None) -> httpx.Client:
    """A client whose every name resolves to loopback, as a hostile DNS answer or a pinned address would."""
    transport = PinnedTransport(allow_private=True, resolver=lambda host, port: ["127.0.0.1"], ssl_context=ssl_context)
    return httpx.Client(transport=transport, trust_env=False, timeout=5.0)


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def test_the_certificate_of_the_urls_host_is_accepted_and_the_sni_is_that_host(ca: trustme.CA, served: Served) -> None:
    with client(trusting(ca)) as http:
        response = http.get(f"https://{HOST}:{served.port}/photo.png")
    assert response.status_code == 200 and response.content == BODY
    assert served.names[-1] == HOST  # not the address connected to


def test_a_certificate_for_another_name_is_refused_though_the_address_is_the_same(ca: trustme.CA,
                                                                                  served: Served) -> None:
    with client(trusting(ca)) as http, pytest.raises(httpx.ConnectError, match="(?i)hostname|match"):
        http.get(f"https://other.test:{served.port}/photo.png")


def test_a_certificate_from_an_untrusted_authority_is_refused(served: Served) -> None:
    with client(None) as http, pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        http.get(f"https://{HOST}:{served.port}/photo.png")
