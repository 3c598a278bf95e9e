"""`snapmode bench hybrid`: P@1 of a photo alone, words alone and both fused, on a generated sample catalog."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from snapmode.config import get_settings


def bench_hybrid(products: Annotated[int, typer.Option(min=2, help="Products in the generated catalog")] = 300,
                 views: Annotated[int, typer.Option(min=2, help="Photos per product; the last one is the query")] = 4,
                 seed: Annotated[int, typer.Option(help="Catalog and query seed")] = 7,
                 as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON")] = False) -> None:
    """A held-out photo of one product plus a colour or category word of another: how often the first result is a
    product of the photo's category in that colour (or of that category in the photo's colour). Runs in a temporary
    embedded data dir with the configured embedder; the configured stores are not touched."""
    from snapmode.hybrid_bench import METHODS, bench_hybrid as run_bench

    report = run_bench(get_settings(), products=products, views=views, seed=seed)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    q = report.queries
    table = Table(title=f"Hybrid search, {report.products} products: P@1 over {q['colour']} colour and "
                        f"{q['category']} category queries")
    for column in ("method", "colour", "category", "all"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for method in METHODS:
        scores = report.p_at_1[method]
        table.add_row(method, *(f"{scores.get(kind, 0.0):.3f}" for kind in ("colour", "category", "all")))
    Console().print(table)
