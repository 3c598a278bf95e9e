"""`snapmode ingest` and `snapmode search` as the docs show them: default settings (a data dir relative to the
working directory) and human output, not only `--json`."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from snapmode.cli.main import app
from snapmode.datasets.catalog.generate import generate_catalog

pytestmark = pytest.mark.slow


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli_env: Callable[..., None]) -> Path:
    """A fresh working directory and default settings: the data dir is `.snapmode` inside it."""
    monkeypatch.chdir(tmp_path)
    cli_env()
    return tmp_path


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("catalog")
    generate_catalog(root, products=4, views=2, seed=5)
    return root


def snapmode(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def said(result: Result) -> str:
    """What the command printed, as one line of words (rich wraps long lines and boxes errors)."""
    return " ".join(result.output.replace("│", " ").split())


def test_ingest_prints_its_summary_with_the_store_counts(workdir: Path, catalog: Path) -> None:
    shutil.copytree(catalog, workdir / "shop")
    done = snapmode("ingest", "shop")  # relative, as typed

    assert done.exit_code == 0, done.output
    assert "Ingest summary" in done.output
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in done.output.splitlines()
            if line.count("│") == 3}
    assert rows["vectors in store"] == "8" and rows["products in store"] == "4" and rows["images_indexed"] == "8"
    assert (workdir / ".snapmode" / "vectors.db").is_file()


def test_a_folder_of_loose_photos_is_a_product_per_photo(workdir: Path, catalog: Path) -> None:
    photos = workdir / "photos"
    photos.mkdir()
    for n, image in enumerate(sorted(catalog.glob("images/*/0.jpg"))):
        shutil.copy(image, photos / f"look-{n}.jpg")
    assert snapmode("ingest", "photos").exit_code == 0

    done = snapmode("search", "photos/look-2.jpg", "--k", "2")
    assert done.exit_code == 0, done.output
    first = next(line for line in done.output.splitlines() if line.startswith("│ 1 "))
    assert "sample-shop:look-2" in first and "1.000" in first


def make_empty(root: Path) -> str:
    (root / "empty").mkdir()
    return "empty"


def make_notes(root: Path) -> str:
    (root / "notes").mkdir()
    (root / "notes" / "readme.txt").write_text("no photos here")
    return "notes"


@pytest.mark.parametrize("make, complaint", [
    (lambda root: "nowhere", "does not exist (relative to the current directory"),
    (make_empty, "holds no images to index"),
    (make_notes, "holds no images to index"),
])
def test_unusable_paths_are_one_line_exit_2_and_write_nothing(workdir: Path, make: Callable[[Path], str],
                                                              complaint: str) -> None:
    done = snapmode("ingest", make(workdir))

    assert done.exit_code == 2, done.output
    assert complaint in said(done)
    assert not (workdir / ".snapmode").exists()  # nothing opened, nothing half-written


def test_search_says_why_it_found_nothing(workdir: Path, catalog: Path) -> None:
    query = str(catalog / "images" / "SM00001" / "0.jpg")
    empty = snapmode("search", query)
    assert empty.exit_code == 0, empty.output
    assert "Top 0" in empty.output and "is empty: index photos first" in said(empty)
    assert "faiss" not in empty.output.lower()  # third-party loading chatter stays out of the terminal

    assert snapmode("ingest", str(catalog)).exit_code == 0
    filtered = snapmode("search", query, "--category", "spacesuit")
    assert "no indexed product passes the filters (category=spacesuit)" in said(filtered)
    found = snapmode("search", query, "--k", "3")
    assert "Top 3 for 0.jpg" in found.output and "SM00001" in found.output
