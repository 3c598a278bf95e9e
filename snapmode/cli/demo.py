"""`snapmode demo`: the sample catalog generated, indexed, and served with its web page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from snapmode.cli.options import ProgressOption
from snapmode.cli.ingest import StoreCounts, load_items, print_report, run_ingest
from snapmode.config import Settings, get_settings
from snapmode.platform import Platform

console = Console(stderr=True)


def ensure_demo_catalog(settings: Settings, products: int, views: int, seed: int) -> Path:
    from snapmode.datasets.catalog.generate import generate_catalog

    out = settings.demo_catalog_dir
    if not (out / "catalog.jsonl").exists():
        console.print(f"generating the sample catalog ({products} products x {views} views) in {out}")
        generate_catalog(out, products=products, views=views, seed=seed)
    return out


def demo(serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the API and web page after ingest")] = True,
         products: Annotated[int | None, typer.Option(min=1, help="Products of the sample catalog",
                                                      show_default="SNAPMODE_DEMO_PRODUCTS, 300")] = None,
         views: Annotated[int | None, typer.Option(min=2, help="Photos per product",
                                                   show_default="SNAPMODE_DEMO_VIEWS, 4")] = None,
         seed: Annotated[int | None, typer.Option(help="Seed the catalog is drawn from",
                                                  show_default="SNAPMODE_DEMO_SEED, 7")] = None,
         progress: ProgressOption = True) -> None:
    """Generate the sample catalog if missing, index it, then serve the web page on http://HOST:PORT."""
    settings = get_settings()
    catalog = ensure_demo_catalog(settings, products or settings.demo_products, views or settings.demo_views,
                                  settings.demo_seed if seed is None else seed)
    items = load_items(catalog, site="sample-shop")
    platform = Platform.build(settings, serving=serve)
    try:
        report = run_ingest(platform, items, skip_indexed=True, show_progress=progress)
        counts = StoreCounts.of(platform)
    finally:
        platform.close()
    print_report(report, counts, platform.dead_letter_path)
    if serve:
        from snapmode.cli.serve import serve_api

        console.print(f"serving on http://{settings.host}:{settings.port}  (Ctrl-C to stop)")
        serve_api(settings)
