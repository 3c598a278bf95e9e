"""With `SNAPMODE_LOG_JSON` every line on stderr is JSON: structlog's events and the stdlib records of uvicorn, Scrapy
and Kafka alike."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from snapmode.waiting import wait_until

LIBRARIES = '''
import logging

from scrapy.crawler import CrawlerProcess

from snapmode.crawlers.settings import scrapy_settings
from snapmode.crawlers.siteconfig import SiteConfig
from snapmode.logs import configure_logging, get_logger

configure_logging("INFO", json=True)
CrawlerProcess(scrapy_settings(SiteConfig.for_url("https://shop.example/"), user_agent="t"))  # Scrapy's logging set-up
logging.getLogger("uvicorn.error").info("Uvicorn running on %s", "http://127.0.0.1:8000")
logging.getLogger("scrapy.core.engine").warning("Spider %s closed", "shop")
logging.getLogger("kafka.conn").warning("broker %s unreachable", "127.0.0.1:9092")
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("scrapy").exception("crawl failed")
get_logger("snapmode.tests").info("test.done", lines=5)
'''


def json_lines(stderr: str) -> list[dict[str, Any]]:
    """Every line of `stderr` parsed as a JSON object (a line that is not fails the test with the output)."""
    lines = []
    for line in stderr.splitlines():
        try:
            lines.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}\n{stderr}")
    return lines


def environment(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "SNAPMODE_DATA_DIR": str(tmp_path / "data"), "SNAPMODE_ENV_FILE": str(tmp_path / "none.env"),
            "SNAPMODE_REDIS_URL": "", "SNAPMODE_LOG_JSON": "1", "SNAPMODE_LOG_LEVEL": "INFO"}


def test_uvicorn_scrapy_and_kafka_records_are_json_lines(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", LIBRARIES], env=environment(tmp_path), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = json_lines(done.stderr)
    said = {(line.get("logger"), line["event"]) for line in lines}
    assert {("uvicorn.error", "Uvicorn running on http://127.0.0.1:8000"), ("scrapy.core.engine", "Spider shop closed"),
            ("kafka.conn", "broker 127.0.0.1:9092 unreachable"), (None, "test.done")} <= said, said
    failed = next(line for line in lines if line["event"] == "crawl failed")
    assert failed["level"] == "error" and "ZeroDivisionError" in failed["exception"]
    assert all(line["level"] and line["timestamp"] for line in lines)


@pytest.mark.slow
def test_snapmode_serve_writes_only_json_lines(tmp_path: Path, free_port: int) -> None:
    port = free_port
    server = subprocess.Popen([sys.executable, "-m", "snapmode.cli.main", "serve", "--port", str(port)],
                              cwd=tmp_path, env=environment(tmp_path), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)

    def answers() -> bool:
        assert server.poll() is None, "snapmode serve exited"
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(answers, timeout_s=120, interval_s=0.3, what="snapmode serve")
        asked = httpx.get(f"http://127.0.0.1:{port}/facets", headers={"X-Request-ID": "proxy-id-42"}, timeout=30)
        fresh = httpx.get(f"http://127.0.0.1:{port}/facets", headers={"X-Request-ID": "bad id\u0007"}, timeout=30)
    finally:
        server.send_signal(signal.SIGINT)
        stdout, stderr = server.communicate(timeout=60)
    assert server.returncode == 0, stderr
    assert asked.headers["x-request-id"] == "proxy-id-42" and len(fresh.headers["x-request-id"]) == 32
    lines = json_lines(stderr)
    loggers = {line.get("logger") for line in lines}
    assert "uvicorn.error" in loggers, stderr
    requests = [line for line in lines if line["event"] == "api.request"]
    assert [(r["path"], r["status"], r["request_id"]) for r in requests] == [
        ("/facets", 200, "proxy-id-42"), ("/facets", 200, fresh.headers["x-request-id"])]
    assert any(line["event"] == "api.started" for line in lines)
    assert any(line["event"].startswith(f"Uvicorn running on http://127.0.0.1:{port}") for line in lines)
    assert stdout == ""
