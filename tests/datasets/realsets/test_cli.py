"""`snapmode dataset build` and `list`: the summary, the cache in the data dir, and one-line errors."""

import json

from typer.testing import CliRunner

from snapmode.cli.main import app
from snapmode.datasets.realsets.photos import PACKAGE, STAMPS
from tests.datasets.realsets.conftest import make_deb, photo

runner = CliRunner()


def test_build_writes_the_set_into_the_data_dir_and_prints_its_summary(tmp_path, cli_env):
    cache = tmp_path / "data" / "packages"
    make_deb(cache, PACKAGE, {f"{STAMPS}/animals/cat{i}.png": photo(i) for i in range(3)})
    cli_env(DATA_DIR=tmp_path / "data")
    result = runner.invoke(app, ["dataset", "build", "photos", "--seed", "1"])
    assert result.exit_code == 0, result.output
    manifest = tmp_path / "data" / "datasets" / "photos" / "manifest.json"
    assert result.stdout.strip() == str(manifest)
    assert json.loads(manifest.read_text())["counts"]["queries"] == 18
    for words in ("products", "18 (crop 3", f"{PACKAGE} 1.0-1 (GPL-2+)", "package cache", "MiB"):
        assert words in result.stderr


def test_list_names_every_set():
    result = runner.invoke(app, ["dataset", "list"])
    assert result.exit_code == 0
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == ["photos", "icons"]


def test_unknown_set_and_missing_apt_get_are_one_line_errors(tmp_path, cli_env, monkeypatch):
    cli_env(DATA_DIR=tmp_path / "data")
    result = runner.invoke(app, ["dataset", "build", "wallpapers"])
    assert result.exit_code == 2 and "unknown set 'wallpapers'" in result.output
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = runner.invoke(app, ["dataset", "build", "icons", "--out", str(tmp_path / "set")])
    assert result.exit_code == 2 and "apt-get not found" in " ".join(result.output.replace("│", " ").split())
    assert "Traceback" not in result.output
