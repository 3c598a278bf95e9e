"""`snapmode ingest`, `snapmode search` and `snapmode demo`: the embedded pipeline from the command line."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from snapmode.catalog.manifest import IMAGE_SUFFIXES
from snapmode.cli.private import PRIVATE_ADDRESS_HINT, AllowPrivateOption, allowing_private
from snapmode.config import Settings, get_settings
from snapmode.interfaces import SearchFilter
from snapmode.pipeline.errors import ImageRejected
from snapmode.pipeline.runner import IngestReport
from snapmode.pipeline.sources import iter_records
from snapmode.pipeline.steps import Rejection
from snapmode.platform import Platform
from snapmode.records import ProductRecord, Tombstone, Versioned
from snapmode.search import SearchResult

console = Console(stderr=True)


def load_items(path: Path, site: str) -> list[Versioned | Rejection]:
    """The records under `path`, read before anything is opened: an unusable path is one line and exit 2."""
    from snapmode.catalog.manifest import CatalogError

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


def run_ingest(platform: Platform, items: list[Versioned | Rejection], *, skip_indexed: bool = False
               ) -> IngestReport:
    """Index `items` with a progress bar; returns the report."""
    total = sum(len(i.image_urls) if isinstance(i, ProductRecord) else 1 for i in items)
    columns = (TextColumn("[bold]indexing"), BarColumn(), MofNCompleteColumn(), TextColumn("images"),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
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
           as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout")] = False) -> None:
    """Index product images into the configured stores."""
    items = load_items(path, site)
    platform = Platform.build(allowing_private(get_settings(), allow_private))
    try:
        report = run_ingest(platform, items, skip_indexed=skip_indexed)
        counts = StoreCounts.of(platform)
    finally:
        platform.close()
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
    else:
        print_report(report, counts, platform.dead_letter_path)


def search(image: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A photo to search with")],
           k: Annotated[int, typer.Option(min=1, max=100)] = 10,
           category: str | None = None, site: str | None = None,
           price_min: float | None = None, price_max: float | None = None,
           as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON on stdout")] = False) -> None:
    """Find the products that look most like IMAGE."""
    platform = Platform.build(get_settings())
    where = SearchFilter(category=category, site=site, price_min=price_min, price_max=price_max)
    try:
        results = platform.search.search_image(image.read_bytes(), k=k, where=where)
        why_empty = None if results else empty_reason(platform, where)
    except ImageRejected as exc:
        console.print(f"[red]cannot search with {image}: {exc}")
        raise typer.Exit(2) from exc
    finally:
        platform.close()
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in results], indent=2))
    else:
        print_results(results, image)
    if why_empty:
        console.print(why_empty)


def empty_reason(platform: Platform, where: SearchFilter) -> str:
    """Why a search found nothing: an empty index, or filters that no indexed product passes."""
    if platform.vectors.count() == 0:
        return (f"the index in {platform.settings.data_dir} is empty: index photos first "
                "(`snapmode ingest PATH`, `snapmode crawl URL` or `snapmode demo`)")
    filters = ", ".join(f"{name}={getattr(where, name)}" for name in where.__slots__ if getattr(where, name) is not None)
    return f"no indexed product passes the filters ({filters})" if filters else "no indexed image matched"


def print_results(results: list[SearchResult], image: Path) -> None:
    table = Table(title=f"Top {len(results)} for {image.name}")
    for column in ("#", "score", "product", "title", "brand", "price"):
        table.add_column(column, no_wrap=column != "title")  # keys and prices whole; titles wrap
    for rank, r in enumerate(results, 1):
        price = f"{r.price:.2f} {r.currency or ''}" if r.price is not None else ""
        table.add_row(str(rank), f"{r.score:.3f}", r.product_key, r.title, r.brand or "", price)
    console.print(table)


def ensure_demo_catalog(settings: Settings, products: int, views: int, seed: int) -> Path:
    from snapmode.catalog.generate import generate_catalog

    out = settings.demo_catalog_dir
    if not (out / "catalog.jsonl").exists():
        console.print(f"generating the sample catalog ({products} products x {views} views) in {out}")
        generate_catalog(out, products=products, views=views, seed=seed)
    return out


def demo(serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the API and web page after ingest")] = True,
         products: Annotated[int | None, typer.Option(min=1)] = None,
         views: Annotated[int | None, typer.Option(min=2)] = None,
         seed: int | None = None) -> None:
    """Generate the sample catalog if missing, index it, then serve the web page on http://HOST:PORT."""
    settings = get_settings()
    catalog = ensure_demo_catalog(settings, products or settings.demo_products, views or settings.demo_views,
                                  settings.demo_seed if seed is None else seed)
    items = load_items(catalog, site="sample-shop")
    platform = Platform.build(settings, serving=serve)
    try:
        report = run_ingest(platform, items, skip_indexed=True)
        counts = StoreCounts.of(platform)
    finally:
        platform.close()
    print_report(report, counts, platform.dead_letter_path)
    if serve:
        from snapmode.cli.serve import serve_api

        console.print(f"serving on http://{settings.host}:{settings.port}  (Ctrl-C to stop)")
        serve_api(settings)
