"""`snapmode search`: the products that look most like a photo, from the configured stores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from snapmode.config import get_settings
from snapmode.interfaces import SearchFilter
from snapmode.pipeline.errors import ImageRejected
from snapmode.platform import Platform
from snapmode.search.service import SearchResult

console = Console(stderr=True)


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
