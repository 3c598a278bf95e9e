"""Secure by default: the compose stack does not render without API and admin keys; `snapmode serve` refuses an
address beyond loopback without API keys; with keys, as compose passes them, search needs an API key and DELETE an
admin key. The embedded default (loopback) stays open."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from snapmode.infra.ports import free_port
from snapmode.waiting import wait_until
from tests.deploy.rendering import SECRETS, compose_run

SNAPMODE = Path(sys.executable).with_name("snapmode")
API_KEY, ADMIN_KEY = SECRETS["SNAPMODE_API_KEYS"], SECRETS["SNAPMODE_ADMIN_KEYS"]


def environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SNAPMODE_")}
    return {**base, "SNAPMODE_DATA_DIR": str(tmp_path / "data"), "SNAPMODE_ENV_FILE": str(tmp_path / "none.env"),
            **{f"SNAPMODE_{k.upper()}": v for k, v in settings.items()}}


@pytest.mark.parametrize("missing", ["SNAPMODE_API_KEYS", "SNAPMODE_ADMIN_KEYS"])
def test_the_compose_stack_needs_the_api_keys(missing: str) -> None:
    rendered = compose_run("config", "--format", "json", env={k: v for k, v in SECRETS.items() if k != missing})
    assert rendered.returncode != 0 and f"set {missing}" in rendered.stderr


def test_the_api_refuses_an_open_address_without_keys(tmp_path: Path) -> None:
    done = subprocess.run([str(SNAPMODE), "serve", "--host", "0.0.0.0", "--port", str(free_port())],
                          env=environment(tmp_path), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "refusing to serve on 0.0.0.0 without API keys" in done.stderr


@pytest.fixture(scope="module")
def keyed_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`snapmode serve` as compose runs it: every address, the keys compose passes."""
    tmp_path, port = tmp_path_factory.mktemp("keyed"), free_port()
    log = (tmp_path / "api.log").open("w")
    server = subprocess.Popen([str(SNAPMODE), "serve", "--host", "0.0.0.0", "--port", str(port)], stdout=log,
                              stderr=subprocess.STDOUT, env=environment(tmp_path, api_keys=API_KEY,
                                                                         admin_keys=ADMIN_KEY))
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert server.poll() is None, (tmp_path / "api.log").read_text()
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(answers, timeout_s=120, interval_s=0.3, what="snapmode serve")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=60)


@pytest.mark.slow
def test_with_keys_search_needs_one_and_delete_needs_an_admin_key(keyed_api: str) -> None:
    assert httpx.post(f"{keyed_api}/search", data={"q": "dress"}).status_code == 401
    assert httpx.post(f"{keyed_api}/search", data={"q": "dress"}, headers={"X-API-Key": "wrong-key-0123456789"}
                      ).status_code == 401
    assert httpx.post(f"{keyed_api}/search", data={"q": "dress"}, headers={"X-API-Key": API_KEY}).status_code == 200
    product = f"{keyed_api}/products/shop:gone"
    assert httpx.delete(product, headers={"X-API-Key": API_KEY}).status_code == 401
    answer = httpx.delete(product, headers={"X-API-Key": API_KEY, "X-Admin-Key": ADMIN_KEY})
    assert answer.status_code == 200 and answer.json()["key"] == "shop:gone"
    assert httpx.get(f"{keyed_api}/healthz").status_code == 200  # health checks need no key
