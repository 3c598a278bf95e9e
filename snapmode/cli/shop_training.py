"""`snapmode train` on a shop's own products (a crawl's records or the metadata store): photos fetched into the image
cache, a summary of what was skipped and why, and the new checkpoint scored beside the current embedder."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from snapmode.cli.private import PRIVATE_ADDRESS_HINT
from snapmode.config import Settings
from snapmode.datasets.galleries import GalleryReport, fetch_galleries
from snapmode.model.config import CbirGanConfig
from snapmode.model.data import Product, RetrievalSplit
from snapmode.model.finetune import COMPARED, check_size, holdout
from snapmode.pipeline.steps import Rejection
from snapmode.records import ProductRecord

console = Console(stderr=True)
SHOP_SOURCES = ("records", "store")


def is_shop_source(data: Path | None, dataset: str) -> bool:
    """Product records to fetch: `--dataset store`, `--dataset records`, or a .jsonl file with `--dataset auto`."""
    return dataset in SHOP_SOURCES or (dataset == "auto" and data is not None and data.suffix == ".jsonl"
                                       and data.is_file())


def read_items(data: Path | None, dataset: str, settings: Settings) -> list[ProductRecord | Rejection]:
    """The records of a crawl's .jsonl (a malformed line becomes a `Rejection`), or of the metadata store."""
    from snapmode.pipeline.sources import read_records_jsonl

    if dataset == "store":
        return list(store_records(data or settings.sqlite_path))
    if data is None or not data.is_file():
        raise typer.BadParameter(f"{data}: give a .jsonl of product records (snapmode crawl URL --out FILE)",
                                 param_hint="--data")
    return list(read_records_jsonl(data))


def store_records(sqlite_path: Path) -> list[ProductRecord]:
    """Every product of the embedded metadata store."""
    from snapmode.stores.sqlite import SqliteMetadataStore

    if not sqlite_path.is_file():
        raise typer.BadParameter(f"{sqlite_path}: no metadata store (ingest or crawl a shop first)",
                                 param_hint="--dataset")
    store = SqliteMetadataStore(sqlite_path)
    try:
        return store.query(limit=max(1, store.count()))
    finally:
        store.close()


def prepare(data: Path | None, dataset: str, config: CbirGanConfig, settings: Settings, *,
            show_progress: bool = True) -> tuple[list[Product], RetrievalSplit, GalleryReport]:
    """(training products, held-out split, fetch report); a catalog too small to train and compare on is refused."""
    from snapmode.datasets.image_cache import ImageCache
    from snapmode.pipeline.options import decode_limits, fetch_options

    if settings.embedder == "cbir-gan" and settings.model_checkpoint is not None:  # compared with at the end
        from snapmode.model.checkpoint import load_config

        try:
            load_config(settings.model_checkpoint)
        except (FileNotFoundError, ValueError) as exc:
            raise typer.BadParameter(f"SNAPMODE_MODEL_CHECKPOINT: {exc}") from exc
    items = read_items(data, dataset, settings)
    options = fetch_options(settings, allow_files=dataset == "store")  # a crawl's records: http(s) only
    total = sum(len(i.image_urls) for i in items if isinstance(i, ProductRecord))
    columns = (TextColumn("[bold]fetching training images"), BarColumn(), MofNCompleteColumn())
    with ImageCache(settings.image_cache_dir) as cache, \
            Progress(*columns, console=console, disable=not show_progress) as progress:
        task = progress.add_task("fetch", total=total)
        galleries = fetch_galleries(items, cache, decode_limits(settings), options, workers=settings.fetch_workers,
                                    on_image=lambda n: progress.advance(task, n))
    print_report(galleries.report, settings.image_cache_dir)
    train, split = holdout(galleries.products)
    try:
        check_size(train, split, config)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--data") from exc
    return train, split, galleries.report


def print_report(report: GalleryReport, cache: Path) -> None:
    table = Table(title="Training images", show_header=False)
    rows = [("records", report.records), ("products with images", report.products),
            ("products without a usable image", report.products_without_images),
            ("images fetched", report.images_fetched), ("images from the cache", report.images_cached),
            ("skipped", sum(report.skipped.values()))]
    for name, value in rows:
        table.add_row(name, str(value))
    for reason, count in sorted(report.skipped.items()):
        table.add_row(f"  skipped: {reason}", f"{count}  (e.g. {report.first_detail[reason]})")
    table.add_row("cache", str(cache))
    console.print(table)
    if "private_address" in report.skipped:
        console.print(PRIVATE_ADDRESS_HINT)


def score(out: Path, split: RetrievalSplit, settings: Settings, *, device: str, show_progress: bool) -> dict:
    """The new checkpoint's and the current embedder's metrics on the held-out views, with what was compared."""
    from snapmode.platform import build_embedder
    from snapmode.model.finetune import compare

    current = build_embedder(settings.model_copy(update={"device": device}))
    scores = compare(out, current, split, device=device, show_progress=show_progress)
    return {"queries": len(split.queries), "gallery": len(split.gallery), "current_model": current_label(settings),
            **scores}


def current_label(settings: Settings) -> str:
    if settings.embedder != "cbir-gan":
        return f"current ({settings.embedder})"
    return f"current ({settings.model_checkpoint})" if settings.model_checkpoint else "current (shipped cbir-gan)"


def print_comparison(scores: dict, out: Path) -> None:
    """The new checkpoint beside the current embedder on the held-out views (`score`), and how to serve with it."""
    table = Table(title="Held-out views of this catalog, not trained on",
                  caption=f"{scores['queries']} queries, {scores['gallery']} gallery images; new: {out}")
    table.add_column("model")
    for metric in COMPARED:
        table.add_column(metric.upper().replace("MAP", "mAP"), justify="right")
    for name, label in (("new", "new"), ("current", scores["current_model"])):
        table.add_row(label, *(f"{scores[name][m]:.3f}" for m in COMPARED))
    table.add_row("new - current", *(f"{scores['new'][m] - scores['current'][m]:+.3f}" for m in COMPARED))
    Console().print(table)
    typer.echo(f"Serving still uses the current model. To switch, re-index with the new one (vectors of two models do "
               f"not mix) and serve with it: SNAPMODE_MODEL_CHECKPOINT={out}")
