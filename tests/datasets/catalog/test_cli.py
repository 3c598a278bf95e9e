"""`snapmode catalog generate` and `snapmode catalog site` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from snapmode.cli.catalog import app


def test_generate_writes_catalog_and_site(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path), "--products", "3", "--views", "2",
                                      "--seed", "1", "--workers", "1", "--base-url", "http://127.0.0.1:9/"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "catalog.jsonl").read_text().splitlines()]
    assert [len(r["images"]) for r in rows] == [2, 2, 2]
    assert "http://127.0.0.1:9/sitemap.xml" in (tmp_path / "site" / "robots.txt").read_text()

    result = CliRunner().invoke(app, ["site", str(tmp_path), "--base-url", "http://127.0.0.1:10"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:10/sitemap.xml" in (tmp_path / "site" / "robots.txt").read_text()


def test_no_site_skips_the_website(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["generate", "--out", str(tmp_path), "--products", "1", "--views", "1",
                                      "--no-site", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "catalog.jsonl").is_file() and not (tmp_path / "site").exists()
