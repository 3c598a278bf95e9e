"""`snapmode reindex`: every stored product embedded again by the configured (or given) model, swapped in at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from snapmode.cli.private import PRIVATE_ADDRESS_HINT, AllowPrivateOption, allowing_private
from snapmode.config import Settings, get_settings
from snapmode.queue.deadletters import dead_letter_file

console = Console(stderr=True)


def with_model(settings: Settings, embedder: str | None, model: Path | None) -> Settings:
    """`settings` with the embedder and checkpoint the options name (a checkpoint means the CBIR-GAN)."""
    update: dict[str, object] = {}
    if embedder is not None:
        update["embedder"] = embedder
    if model is not None:
        update.update(embedder="cbir-gan", model_checkpoint=model)
    return settings.model_copy(update=update) if update else settings


def reindex(embedder: Annotated[Literal["backbone", "cbir-gan"] | None, typer.Option(
                help="The embedder to re-embed with", show_default="SNAPMODE_EMBEDDER")] = None,
            model: Annotated[Path | None, typer.Option(
                "--model", exists=True, file_okay=False, help="A CBIR-GAN checkpoint folder to re-embed with",
                show_default="SNAPMODE_MODEL_CHECKPOINT, else the shipped one")] = None,
            keep_old: Annotated[bool, typer.Option(
                "--keep-old", help="Keep the old collection after the swap instead of dropping it")] = False,
            force: Annotated[bool, typer.Option(
                "--force", help="Rebuild even when the index already holds this model's vectors")] = False,
            allow_private: AllowPrivateOption = False,
            progress_: Annotated[bool, typer.Option("--progress/--no-progress", help="Show progress bars")] = True,
            as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout")] = False
            ) -> None:
    """Embed every stored product again into a new collection, then swap it in for the old one in one step."""
    from snapmode.platform import build_embedder
    from snapmode.pipeline.reindex import Ticks, reindex as run_reindex

    settings = with_model(allowing_private(get_settings(), allow_private), embedder, model)
    model_ = build_embedder(settings)
    columns = (TextColumn("[bold]reindexing"), BarColumn(), MofNCompleteColumn(), TextColumn("products,"),
               TextColumn("{task.fields[images]} images"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False, disable=as_json or not progress_) as progress:
        task = progress.add_task("reindex", total=None, images=0, visible=False)  # shown once there is work
        images = [0]

        def started(products: int) -> None:
            progress.console.print(f"re-embedding the {products} products of the index {settings.collection} with "
                                   f"{model_.model_id} ({model_.dim}-d); searches answer from the current index "
                                   "until the swap")
            progress.update(task, total=products, visible=True)

        def embedded(n: int) -> None:
            images[0] += n
            progress.update(task, images=images[0])

        ticks = Ticks(total=started, product=lambda: progress.advance(task), images=embedded)
        report = run_reindex(settings, model_, keep_old=keep_old, force=force, ticks=ticks)
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
        return
    if report.up_to_date:
        where = "" if report.collection == report.name else f" (collection {report.collection})"
        console.print(f"the index {report.name}{where} already holds the vectors of {report.model_id}: "
                      "nothing to do (--force rebuilds it)")
        return
    table = Table(title="Reindex summary", show_header=False)
    for name, value in report.as_dict().items():
        if name == "up_to_date":
            continue
        table.add_row(name.replace("_", " "), json.dumps(value) if isinstance(value, (dict, list)) else str(value))
    console.print(table)
    if report.rejected:
        console.print(f"refused images are in the dead letters ({dead_letter_file(settings)}): "
                      "`snapmode deadletters list`")
    if "private_address" in report.rejected:
        console.print(PRIVATE_ADDRESS_HINT)
    console.print(f"restart `snapmode serve` and the topology with this model{model_hint(settings, embedder, model)}: "
                  "a process started with the old one refuses the new index")


def model_hint(settings: Settings, embedder: str | None, model: Path | None) -> str:
    """The settings that name the model the options chose ("" when the settings already did)."""
    if model is None and embedder is None:
        return ""
    checkpoint = f" SNAPMODE_MODEL_CHECKPOINT={settings.model_checkpoint}" if settings.model_checkpoint else ""
    return f" (SNAPMODE_EMBEDDER={settings.embedder}{checkpoint if settings.embedder == 'cbir-gan' else ''})"
