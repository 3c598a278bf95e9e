"""A client generated from `/openapi.json` by openapi-python-client (`make client-generator` installs it in
.venv-openapi) talks to the API: searches by photo, by words and by URL, reads a product, its similar products and
the facets, and gets typed problems for a bad photo and a bad filter."""

from __future__ import annotations

import importlib
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from fastapi.testclient import TestClient

from tests.loopback import LoopbackServer, routes_handler
from tests.services.conftest import SITE, Catalog

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / ".venv-openapi" / "bin" / "openapi-python-client"
PACKAGE = "snapmode_client"


@pytest.fixture(scope="module")
def generated(client: TestClient, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    assert GENERATOR.is_file(), f"{GENERATOR} is missing: `make client-generator` installs it"
    root = tmp_path_factory.mktemp("generated")
    document = root / "openapi.json"
    document.write_text(json.dumps(client.get("/openapi.json").json()))
    done = subprocess.run([str(GENERATOR), "generate", "--path", str(document), "--output-path",
                           str(root / PACKAGE), "--meta", "none"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def module(package: ModuleType, name: str) -> ModuleType:
    return importlib.import_module(f"{package.__name__}.{name}")


@pytest.fixture(scope="module")
def api(generated: ModuleType, client: TestClient):  # type: ignore[no-untyped-def]
    """The generated client, its requests sent to the app through the test client."""
    return generated.Client(base_url=str(client.base_url)).set_httpx_client(client)


def test_the_generated_client_searches_reads_and_gets_typed_problems(generated: ModuleType, api,  # type: ignore[no-untyped-def]
                                                                     catalog: Catalog) -> None:
    models = module(generated, "models")
    types = module(generated, "types")
    photo = catalog.held_out["red-disc"]

    def upload(data: bytes, **fields: object):  # type: ignore[no-untyped-def]
        file = types.File(payload=io.BytesIO(data), file_name="q.jpg", mime_type="image/jpeg")
        return module(generated, "api.search.search_upload").sync(client=api, body=models.SearchForm(file=file,
                                                                                                     **fields))

    by_photo = upload(photo, k=3)
    assert isinstance(by_photo, models.SearchResponse) and by_photo.ranking.value == "image"
    top = by_photo.results[0]
    assert top.product_id == "red-disc" and top.site == SITE and top.score > 0.5 and top.image_path

    by_words = module(generated, "api.search.search_upload").sync(client=api, body=models.SearchForm(q="red disc",
                                                                                                     k=3))
    assert isinstance(by_words, models.SearchResponse) and by_words.ranking.value == "text"
    assert by_words.results[0].product_id == "red-disc"

    with LoopbackServer(routes_handler({"/red.jpg": (200, "image/jpeg", photo, {})})) as server:
        by_url = module(generated, "api.search.search_url").sync(
            client=api, body=models.UrlQuery(url=f"{server.base}/red.jpg", k=3))
    assert isinstance(by_url, models.SearchResponse) and by_url.results[0].product_id == "red-disc"

    key = top.product_key
    product = module(generated, "api.products.get_product").sync(client=api, key=key)
    assert isinstance(product, models.Product) and product.record.title == catalog.records["red-disc"].title
    assert len(product.images) == len(catalog.records["red-disc"].image_urls)
    similar = module(generated, "api.products.similar_products").sync(client=api, key=key, k=2)
    assert isinstance(similar, models.SearchResponse) and len(similar.results) == 2
    assert key not in [r.product_key for r in similar.results]
    counts = module(generated, "api.facets.get_facets").sync(client=api)
    assert isinstance(counts, models.FacetsResponse) and counts.total == len(catalog.records)
    assert {c.value for c in counts.colours} >= {catalog.records["red-disc"].colour}

    bad_photo = upload(b"<html>not a photo</html>", k=3)
    assert isinstance(bad_photo, models.Problem) and bad_photo.reason in ("not_an_image", "unsupported_media_type")
    bad_filter = module(generated, "api.products.similar_products").sync(client=api, key=key, brand="a\tb")
    assert isinstance(bad_filter, models.Problem) and bad_filter.reason == "invalid_request"
    assert bad_filter.errors and bad_filter.errors[0].loc == ["query", "brand"]
