"""`snapmode compact`: a checkpoint with shorter codes (a PCA of another's), and its int8 graph, for large stores."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console(stderr=True)
FIT_SEED = 2  # other drawings than the whitening's (seed 0) and the int8 calibration's (seed 1)


def compact(out: Annotated[Path, typer.Argument(help="Folder of the new checkpoint (created; must not hold one)")],
            dims: Annotated[int, typer.Option(min=8, help="Length of the new codes")] = 256,
            model: Annotated[Path | None, typer.Option(
                help="CBIR-GAN checkpoint folder to compact",
                show_default="the one that embeds now: SNAPMODE_MODEL_CHECKPOINT or the shipped one")] = None,
            power: Annotated[float, typer.Option(min=0.0, max=1.0, help="Whitening power of the kept directions: 0 "
                                                 "only rotates, 1 whitens fully")] = 0.4,
            drawings: Annotated[int, typer.Option(min=16, help="Unlabeled drawings (openclipart-png) the directions "
                                                  "are learned from")] = 6000,
            calibration: Annotated[int, typer.Option(min=16, help="Drawings that set the int8 graph's ranges")] = 256,
            as_json: Annotated[bool, typer.Option("--json", help="Print what was written as JSON")] = False,
            progress: Annotated[bool, typer.Option(help="Show progress bars")] = True) -> None:
    """Make a checkpoint whose codes keep the top principal directions of another's (1 KB a vector at 256), with its
    int8 graph. Serve it with SNAPMODE_MODEL_CHECKPOINT=OUT after `snapmode reindex`."""
    from snapmode.cli.model import current_checkpoint
    from snapmode.cli.tracking import tracking
    from snapmode.config import get_settings
    from snapmode.datasets.realsets.clipart import drawings as read_drawings
    from snapmode.datasets.realsets.packages import PackageUnavailable
    from snapmode.model.checkpoint import WEIGHTS, load_config
    from snapmode.model.compact import compact_checkpoint
    from snapmode.model.export import export_graph
    from snapmode.cli.export import CALIBRATION_SEED

    settings = get_settings()
    source = model or current_checkpoint(settings)
    try:
        source_dims = load_config(source).z_dim
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc), param_hint="--model") from exc
    if dims >= source_dims:
        raise typer.BadParameter(f"{source} makes {source_dims}-d codes: compact codes are shorter", param_hint="--dims")
    if (out / WEIGHTS).exists():
        raise typer.BadParameter(f"{out} already holds a checkpoint", param_hint="OUT")
    began = time.perf_counter()
    with tracking(console, show=progress) as track:
        try:
            fit = read_drawings(settings.package_cache, drawings, seed=FIT_SEED, track=track)[0]
            calibrate = read_drawings(settings.package_cache, calibration, seed=CALIBRATION_SEED, track=track)[0]
        except PackageUnavailable as exc:
            raise typer.BadParameter(f"the drawings: {exc}", param_hint="--drawings") from exc
    with console.status(f"fitting {dims} directions on {len(fit)} drawings", spinner="dots"):
        _, summary = compact_checkpoint(source, out, fit, dims=dims, power=power)
    with console.status(f"exporting {out} (int8)", spinner="dots"):
        graph = export_graph(out, calibrate)
    summary = {"checkpoint": str(out), "graph": str(graph), **summary,
               "seconds": round(time.perf_counter() - began, 1)}
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    console.print(f"wrote {out}: {dims}-d codes ({4 * dims} bytes a vector) keeping {summary['variance_kept']:.1%} of "
                  f"the variance of {source_dims}-d ones, with its int8 graph, in {summary['seconds']} s",
                  soft_wrap=True, markup=False, highlight=False)
    console.print(f"next: SNAPMODE_MODEL_CHECKPOINT={out} snapmode reindex", soft_wrap=True, markup=False,
                  highlight=False)
