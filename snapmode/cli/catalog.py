"""`snapmode catalog`: generate the synthetic sample catalog and render its static shop website."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from snapmode.cli.options import JsonOption, ProgressOption, emit

app = typer.Typer(help="The synthetic sample catalog and its shop website.", no_args_is_help=True)
console = Console(stderr=True)


@app.command()
def generate(out: Annotated[Path, typer.Option(help="Catalog directory (replaced if it holds a catalog)")],
             products: Annotated[int, typer.Option(min=1, help="Number of products")] = 300,
             views: Annotated[int, typer.Option(min=1, help="Photos per product")] = 4,
             seed: Annotated[int, typer.Option(help="Same seed, same bytes")] = 7,
             site: Annotated[bool, typer.Option("--site/--no-site", help="Also render the shop website")] = True,
             base_url: Annotated[str | None, typer.Option(help="Absolute URL the site will be served at")] = None,
             workers: Annotated[int | None, typer.Option(min=1, help="Processes (output does not depend on it)")]
             = None, progress: ProgressOption = True, as_json: JsonOption = False) -> None:
    """Generate PRODUCTS x VIEWS product photos, `catalog.jsonl` and (by default) the shop site."""
    from snapmode.datasets.catalog.generate import GenerateOptions, generate_catalog

    options = GenerateOptions(products=products, views=views, seed=seed, workers=workers)
    categories: Counter[str] = Counter()
    started = time.perf_counter()
    columns = (TextColumn("[bold]generating"), BarColumn(), MofNCompleteColumn(), TextColumn("products"),
               TimeElapsedColumn())
    with Progress(*columns, console=console, disable=not progress) as bar:
        task = bar.add_task("generate", total=products)

        def advance(row: dict) -> None:
            categories[row["category"]] += 1
            bar.advance(task)

        manifest = generate_catalog(out, options=options, on_product=advance)
    elapsed = time.perf_counter() - started

    table = Table(title="Sample catalog", show_header=False)
    table.add_row("manifest", str(manifest))
    table.add_row("products", str(products))
    table.add_row("images", f"{products * views} ({views} per product)")
    table.add_row("categories", ", ".join(f"{c} {n}" for c, n in sorted(categories.items())))
    table.add_row("seed", str(seed))
    table.add_row("time", f"{elapsed:.1f} s ({products * views / max(elapsed, 1e-9):.0f} images/s)")
    rendered = _render(out, base_url) if site else None
    if rendered:
        table.add_row("site", rendered)
    if as_json:
        emit({"manifest": manifest, "products": products, "images": products * views, "seed": seed,
              "categories": dict(sorted(categories.items())), "seconds": round(elapsed, 2), "site": rendered})
        return
    console.print(table)


@app.command("site")
def site_command(catalog: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="A catalog directory")],
                 base_url: Annotated[str | None, typer.Option(help="Absolute URL the site will be served at")]
                 = None,
                 per_page: Annotated[int, typer.Option(min=1, help="Products per listing page")] = 24,
                 as_json: JsonOption = False) -> None:
    """Render the shop website of CATALOG into CATALOG/site again, e.g. for another base URL."""
    rendered = _render(catalog, base_url, per_page)
    if as_json:
        emit({"site": rendered})
        return
    console.print(rendered)


def _render(catalog: Path, base_url: str | None, per_page: int = 24) -> str:
    from snapmode.datasets.catalog.site import DEFAULT_BASE_URL, render_site

    summary = render_site(catalog, base_url=base_url or DEFAULT_BASE_URL, per_page=per_page)
    return (f"{summary.root} ({summary.products} product pages, {summary.listing_pages} listing pages; "
            f"serve it with: python -m http.server -d {summary.root})")
