"""A real SnapMode server for the browser tests: a small sample catalog ingested into a temporary embedded data dir,
the app served by uvicorn on a free loopback port, and the system Chromium driven by Playwright.

The browser is Debian's Chromium (`apt-get install chromium`; `make browser-deps`), launched by path, so no
browser is ever downloaded. `SNAPMODE_TEST_CHROMIUM` names another executable. Screenshots go to
`test-artifacts/browser/` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from snapmode.config import Settings
from snapmode.datasets.catalog.generate import GenerateOptions, generate_catalog
from snapmode.infra.ports import free_port
from snapmode.pipeline.manifest import load_catalog
from snapmode.pipeline.sources import iter_records
from snapmode.platform import Platform
from snapmode.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("SNAPMODE_TEST_CHROMIUM", "/usr/bin/chromium")
SITE = "sample-shop"


@dataclass(frozen=True)
class Server:
    base: str
    catalog: Path
    products: dict[str, dict]  # catalog rows by product id


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import uvicorn

    from snapmode.services.app import create_app

    root = tmp_path_factory.mktemp("browser")
    catalog = root / "catalog"
    generate_catalog(catalog, options=GenerateOptions(products=12, views=3, seed=7, workers=1))
    settings = Settings(data_dir=root / "data", device="cpu", _env_file=None)  # type: ignore[call-arg]
    platform = Platform.build(settings)
    report = platform.runner().run(iter_records(catalog, site=SITE))
    platform.close()
    assert report.images_indexed == 36, report.as_dict()

    config = uvicorn.Config(create_app(settings, embedder=platform.embedder), host="127.0.0.1", port=free_port(),
                            log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    def started() -> bool:
        assert thread.is_alive(), "the server did not start"
        return uv.started

    wait_until(started, timeout_s=30, interval_s=0.05, what="the server")
    try:
        yield Server(f"http://127.0.0.1:{config.port}", catalog,
                     {p.product_id: p.model_dump() for p in load_catalog(catalog)})
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).is_file()):
        pytest.skip(f"no Chromium at {CHROMIUM}: `make browser-deps` installs Debian's (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], timeout=20_000)
        yield browser
        browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
