"""`snapmode ingest`: index images, folders, catalogs or records in this process (the embedded pipeline)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from snapmode.cli.options import ProgressOption
from snapmode.cli.private import PRIVATE_ADDRESS_HINT, AllowPrivateOption, allowing_private
from snapmode.config import get_settings
from snapmode.pipeline.manifest import IMAGE_SUFFIXES
from snapmode.pipeline.runner import IngestReport
from snapmode.pipeline.sources import iter_records
from snapmode.pipeline.steps import Rejection
from snapmode.platform import Platform
from snapmode.records import ProductRecord, Tombstone, Versioned

console = Console(stderr=True)


def load_items(path: Path, site: str) -> list[Versioned | Rejection]:
    """The records under `path`, read before anything is opened: an unusable path is one line and exit 2."""
    from snapmode.pipeline.manifest import CatalogError

    if not path.exists():
        where = "" if path.is_absolute() else f" (relative to the current directory {Path.cwd()})"
        raise typer.BadParameter(f"{path} does not exist{where}", param_hint="PATH")
    try:
        items = list(iter_records(path, site=site))
    except (FileNotFoundError, CatalogError) as exc:
        raise typer.BadParameter(str(exc), param_hint="PATH") from exc
    if not any(isinstance(i, (ProductRecord, Tombstone)) for i in items):
        raise typer.BadParameter(
            f"{path} holds no images to index: give image files, <product_id>/ folders of images "
            f"({', '.join(IMAGE_SUFFIXES)}), a catalog (catalog.jsonl) or a .jsonl of product records",
            param_hint="PATH")
    return items


def run_ingest(platform: Platform, items: list[Versioned | Rejection], *, skip_indexed: bool = False,
               show_progress: bool = True) -> IngestReport:
    """Index `items` with a progress bar; returns the report."""
    total = sum(len(i.image_urls) if isinstance(i, ProductRecord) else 1 for i in items)
    columns = (TextColumn("[bold]indexing"), BarColumn(), MofNCompleteColumn(), TextColumn("images"),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False, disable=not show_progress) as progress:
        task = progress.add_task("ingest", total=total)
        runner = platform.runner(skip_indexed=skip_indexed)
        return runner.run(items, on_image=lambda n: progress.advance(task, n))


@dataclass(frozen=True)
class StoreCounts:
    vectors: int
    products: int

    @classmethod
    def of(cls, platform: Platform) -> StoreCounts:
        return cls(vectors=platform.vectors.count(), products=platform.metadata.count())


def print_report(report: IngestReport, counts: StoreCounts, dead_letters: Path) -> None:
    table = Table(title="Ingest summary", show_header=False)
    for name, value in report.as_dict().items():
        table.add_row(name, json.dumps(value) if isinstance(value, dict) else str(value))
    table.add_row("vectors in store", str(counts.vectors))
    table.add_row("products in store", str(counts.products))
    if report.images_rejected:
        table.add_row("dead letters", str(dead_letters))
    console.print(table)
    if "private_address" in report.rejected:
        console.print(PRIVATE_ADDRESS_HINT)


def ingest(path: Annotated[Path, typer.Argument(help="Image files, <product_id>/ folders, a catalog or a .jsonl")],
           site: Annotated[str, typer.Option(help="Site name for catalog/folder input")] = "sample-shop",
           skip_indexed: Annotated[bool, typer.Option(help="Embed only images not indexed yet")] = False,
           allow_private: AllowPrivateOption = False,
           progress: ProgressOption = True,
           as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout")] = False) -> None:
    """Index product images into the configured stores."""
    items = load_items(path, site)
    platform = Platform.build(allowing_private(get_settings(), allow_private))
    try:
        report = run_ingest(platform, items, skip_indexed=skip_indexed, show_progress=progress)
        counts = StoreCounts.of(platform)
    finally:
        platform.close()
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
    else:
        print_report(report, counts, platform.dead_letter_path)
