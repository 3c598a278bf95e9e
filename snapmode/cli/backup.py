"""`snapmode backup DIR` and `snapmode restore DIR`: both stores into a folder and back, embedded or on a cluster."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from snapmode.cli.options import JsonOption, ProgressOption, emit
from snapmode.config import Settings, get_settings
from snapmode.progress import progress_bars
from snapmode.stores import backup as backups
from snapmode.stores.backup import BackupError, Manifest

console = Console(stderr=True)


def _run(settings: Settings, folder: Path, job: str, action: Callable[..., Manifest], total: int | None,
         show: bool) -> tuple[Manifest, float]:
    """`action` (backup or restore) of the configured stores and `folder`, with a progress bar; and its seconds."""
    from snapmode.platform import embedder_identity
    from snapmode.stores.factory import build_stores

    model_id, dim = embedder_identity(settings)
    vectors, metadata = build_stores(settings, dim, model_id=model_id)
    started = time.perf_counter()
    try:
        with progress_bars(show=show, console=console) as bars:
            task = bars.add_task(f"{job} products", total=total if total is not None else metadata.count())
            manifest = action(vectors, metadata, folder, model_id=model_id, dim=dim,
                              on_progress=lambda n: bars.update(task, advance=n))
    except BackupError as exc:
        raise typer.BadParameter(str(exc), param_hint="DIR") from exc
    finally:
        vectors.close()
        metadata.close()
    return manifest, time.perf_counter() - started


def _report(title: str, folder: Path, manifest: Manifest, seconds: float, as_json: bool) -> None:
    if as_json:
        emit({"folder": folder, "products": manifest.products, "images": manifest.images, "model_id": manifest.model_id,
              "dim": manifest.dim, "created": manifest.created, "seconds": round(seconds, 2)})
        return
    table = Table(title=title, show_header=False)
    for name, value in (("folder", folder), ("products", manifest.products), ("images", manifest.images),
                        ("model", f"{manifest.model_id} ({manifest.dim}-d)"), ("made", manifest.created),
                        ("time", f"{seconds:.1f} s")):
        table.add_row(name, str(value))
    console.print(table)


def backup(folder: Annotated[Path, typer.Argument(metavar="DIR", help="A new or empty folder")],
           progress: ProgressOption = True, as_json: JsonOption = False) -> None:
    """Save every product and every vector of the configured stores into DIR. Stop the writers (the topology,
    ingest) first for a snapshot of one moment."""
    settings = get_settings()
    manifest, seconds = _run(settings, folder, "backing up", backups.backup, None, progress)
    _report("Backup", folder, manifest, seconds, as_json)


def restore(folder: Annotated[Path, typer.Argument(metavar="DIR", exists=True, file_okay=False,
                                                  help="A folder `snapmode backup` wrote")],
            yes: Annotated[bool, typer.Option("--yes", "-y", help="Restore without asking")] = False,
            progress: ProgressOption = True, as_json: JsonOption = False) -> None:
    """Write the products and vectors of the backup in DIR into the configured stores (a product the stores hold
    in a newer version keeps it). Asks first unless --yes."""
    settings = get_settings()
    try:
        manifest = Manifest.read(folder)
    except BackupError as exc:
        raise typer.BadParameter(str(exc), param_hint="DIR") from exc
    where = "the cluster's stores" if settings.mode == "cluster" else f"the stores in {settings.data_dir}"
    if not yes and not typer.confirm(f"restore {manifest.products} products ({manifest.created}) into {where}?",
                                     err=True):
        raise typer.Exit(1)
    manifest, seconds = _run(settings, folder, "restoring", backups.restore, manifest.products, progress)
    _report("Restore", folder, manifest, seconds, as_json)
