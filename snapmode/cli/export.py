"""`snapmode export`: a checkpoint's int8 inference graph, calibrated on unlabeled real drawings, beside its weights."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console(stderr=True)
CALIBRATION_SEED = 1  # other drawings than the whitening's (seed 0), from the same package


def export(model: Annotated[Path | None, typer.Option(
               help="CBIR-GAN checkpoint folder",
               show_default="the one that embeds now: SNAPMODE_MODEL_CHECKPOINT or the shipped one")] = None,
           calibration: Annotated[int, typer.Option(min=16, help="Unlabeled drawings (openclipart-png) that set the "
                                                                 "int8 ranges")] = 256,
           fp32: Annotated[bool, typer.Option("--fp32", help="Export the float32 graph instead (no calibration)")] = False,
           as_json: Annotated[bool, typer.Option("--json", help="Print what was written as JSON")] = False,
           progress: Annotated[bool, typer.Option(help="Show progress bars")] = True) -> None:
    """Export the CBIR-GAN's encoder for the CPU runtimes (ONNX Runtime, OpenVINO), int8 by default, into the checkpoint
    folder, where `SNAPMODE_EMBED_RUNTIME=auto` finds it. Run it again after training; a stale graph is refused."""
    from snapmode.cli.model import current_checkpoint
    from snapmode.cli.tracking import tracking
    from snapmode.config import get_settings
    from snapmode.model.checkpoint import load_config
    from snapmode.model.export import export_graph
    from snapmode.model.runtime import read_graph_props
    from snapmode.datasets.realsets.clipart import drawings
    from snapmode.datasets.realsets.packages import PackageUnavailable

    settings = get_settings()
    checkpoint = model or current_checkpoint(settings)
    try:
        load_config(checkpoint)
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc), param_hint="--model") from exc
    images = []
    if not fp32:
        with tracking(console, show=progress) as track:
            try:
                images, _ = drawings(settings.package_cache, calibration, seed=CALIBRATION_SEED, track=track)
            except PackageUnavailable as exc:
                raise typer.BadParameter(f"the calibration drawings: {exc}", param_hint="--calibration") from exc
    began = time.perf_counter()
    with console.status(f"exporting {checkpoint} ({'float32' if fp32 else 'int8'})", spinner="dots"):
        path = export_graph(checkpoint, images, int8=not fp32)
    props = {key.removeprefix("snapmode."): value for key, value in read_graph_props(path).items()}
    summary = {"graph": str(path), "megabytes": round(path.stat().st_size / 2**20, 2),
               "seconds": round(time.perf_counter() - began, 1), **props}
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    console.print(f"wrote {path} ({summary['megabytes']} MB, {props['precision']}, {props['dim']}-d codes of "
                  f"{props['model_id']}, {props['calibration_images']} calibration images) in {summary['seconds']} s",
                  soft_wrap=True, markup=False, highlight=False)
