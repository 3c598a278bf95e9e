"""Turn what a user points `snapmode ingest` at into product records: a catalog, a folder, or a JSONL of records."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from snapmode.pipeline.manifest import catalog_records, folder_records
from snapmode.pipeline.steps import Rejection, parse_record
from snapmode.records import Versioned


def read_records_jsonl(path: Path) -> Iterator[Versioned | Rejection]:
    """Each line a record or a tombstone as JSON; a malformed line becomes a `Rejection` carrying the line."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                yield parse_record(line, f"{path}:{number}")


def iter_records(path: Path, site: str) -> Iterator[Versioned | Rejection]:
    """Records from a sample catalog (`catalog.jsonl` inside), a JSONL file of records, or a `<product_id>/*.jpg` folder."""
    if path.is_file() and path.suffix == ".jsonl":
        yield from read_records_jsonl(path)
    elif (path / "catalog.jsonl").is_file():
        yield from catalog_records(path, site=site)
    elif path.is_dir():
        yield from folder_records(path, site=site)
    else:
        raise FileNotFoundError(f"{path} is neither a catalog, a folder of <product_id>/*.jpg, nor a .jsonl file")
