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
from snapmode.pipeline.box import Box
from snapmode.pipeline.errors import ImageRejected
from snapmode.platform import Platform
from snapmode.search.service import Page, SearchResult, has_words

console = Console(stderr=True)


def search(image: Annotated[Path | None, typer.Argument(exists=True, dir_okay=False,
                                                        help="A photo to search with (optional with --q)")] = None,
           q: Annotated[str | None, typer.Option("--q", help="Words: alone, or ranked with the photo (hybrid)")] = None,
           k: Annotated[int, typer.Option(min=1, max=100, help="Products to return")] = 10,
           offset: Annotated[int, typer.Option(min=0, help="Skip this many products (the next page)")] = 0,
           category: Annotated[str | None, typer.Option(help="Only this category")] = None,
           brand: Annotated[str | None, typer.Option(help="Only this brand")] = None,
           colour: Annotated[str | None, typer.Option(help="Only this colour")] = None,
           site: Annotated[str | None, typer.Option(help="Only this shop")] = None,
           price_min: Annotated[float | None, typer.Option(min=0, help="Lowest price")] = None,
           price_max: Annotated[float | None, typer.Option(min=0, help="Highest price")] = None,
           collapse: Annotated[bool, typer.Option(help="Show near-duplicates under their original")] = True,
           bbox: Annotated[str | None, typer.Option(
               help="Search with this region of the photo only: x0,y0,x1,y1 as shares of its width and height, "
                    "e.g. 0,0,0.5,1 for its left half")] = None,
           as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON on stdout")] = False) -> None:
    """Find the products that look most like IMAGE, or that match the words of --q, or both (the API's ranking:
    words and photo fused). The filters and paging are the API's."""
    if image is None and not has_words(q):
        raise typer.BadParameter("give a photo, words (--q), or both", param_hint="IMAGE")
    try:
        box = Box.parse(bbox) if bbox else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--bbox") from exc
    if box is not None and image is None:
        raise typer.BadParameter("a region of a photo needs the photo", param_hint="--bbox")
    platform = Platform.build(get_settings())
    where = SearchFilter(category=category, site=site, brand=brand, colour=colour, price_min=price_min,
                         price_max=price_max)
    try:
        results = platform.search.find(image.read_bytes() if image else None, q, Page(k, where, offset, collapse),
                                       box)
        why_empty = None if results else empty_reason(platform, where, q)
    except ImageRejected as exc:
        console.print(f"[red]cannot search with {image}: {exc}")
        raise typer.Exit(2) from exc
    finally:
        platform.close()
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in results], indent=2))
    else:
        print_results(results, image.name if image else f'"{q}"', offset)
    if why_empty:
        console.print(why_empty)


def empty_reason(platform: Platform, where: SearchFilter, words: str | None = None) -> str:
    """Why a search found nothing: an empty index, words that no product has, or filters that none passes."""
    if platform.vectors.count() == 0:
        return (f"the index in {platform.settings.data_dir} is empty: index photos first "
                "(`snapmode ingest PATH`, `snapmode crawl URL` or `snapmode demo`)")
    filters = ", ".join(f"{name}={getattr(where, name)}" for name in where.__slots__ if getattr(where, name) is not None)
    if has_words(words):
        return f"no indexed product matches the words {words!r}" + (f" and the filters ({filters})" if filters else "")
    return f"no indexed product passes the filters ({filters})" if filters else "no indexed image matched"


def print_results(results: list[SearchResult], query: str, offset: int = 0) -> None:
    title = f"Top {len(results)} for {query}" if not offset else f"{len(results)} from rank {offset + 1} for {query}"
    table = Table(title=title)
    for column in ("#", "score", "product", "title", "brand", "price"):
        table.add_column(column, no_wrap=column != "title")  # keys and prices whole; titles wrap
    for rank, r in enumerate(results, offset + 1):
        price = f"{r.price:.2f} {r.currency or ''}" if r.price is not None else ""
        table.add_row(str(rank), f"{r.score:.3f}", r.product_key, r.title, r.brand or "", price)
    console.print(table)
