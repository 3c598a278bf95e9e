"""`snapmode train` and `snapmode eval`: the CBIR-GAN from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from snapmode.cli.private import AllowPrivateOption, allowing_private
from snapmode.config import EmbedRuntime

if TYPE_CHECKING:
    from PIL import Image

    from snapmode.config import Settings
    from snapmode.model.config import CbirGanConfig

console = Console(stderr=True)

DatasetOption = Annotated[str, typer.Option(
    "--dataset", help="auto | catalog | folder | inshop | records (a .jsonl of product records, as `snapmode crawl "
                      "--out` writes; auto for a .jsonl file; train only) | store (the products in the metadata store; "
                      "train only) | retrieval (gallery/<product>/ and queries/<product>/ folders, or a "
                      "path<TAB>product<TAB>gallery|query .tsv; eval only)")]


def load_training_products(data: Path | None, dataset: str) -> list:
    """Products from a catalog, a folder or an In-shop root."""
    from snapmode.model.data import load_products

    if data is None:
        raise typer.BadParameter("give --data PATH (or --dataset store)", param_hint="--data")
    try:
        return load_products(data, dataset)  # type: ignore[arg-type]
    except (FileNotFoundError, ValueError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--data") from exc


def train(data: Annotated[Path | None, typer.Option(help="A catalog, a <product_id>/*.jpg folder, an In-shop root or "
                                                       "a crawl's .jsonl of product records")] = None,
          out: Annotated[Path, typer.Option(help="Checkpoint folder")] = Path("checkpoints/cbir_gan"),
          dataset: DatasetOption = "auto",
          epochs: Annotated[int | None, typer.Option(min=1, help="Passes over the training products",
                                                     show_default="the recipe's")] = None,
          batch_size: Annotated[int | None, typer.Option(min=4, help="Images per batch")] = None,
          image_size: Annotated[int | None, typer.Option(help="Input/reconstruction side (4 * 2^k)")] = None,
          seed: Annotated[int | None, typer.Option(help="Seed of the split, the batches and the augmentations",
                                                   show_default="the recipe's")] = None,
          config: Annotated[Path | None, typer.Option(help="A config.json to start from, flags overriding it", show_default="the --init checkpoint's, else the built-in one")] = None,
          triplet_only: Annotated[bool, typer.Option(help="Train the plain triplet baseline (no decoder, no GAN)")] = False,
          device: Annotated[str, typer.Option(help="auto | cpu | cuda | cuda:N")] = "auto",
          resume: Annotated[bool, typer.Option(help="Go on from the checkpoint in --out")] = False,
          init: Annotated[str | None, typer.Option(help="Fine-tune: start from this checkpoint's weights; `current`: "
                                                   "the CBIR-GAN that embeds now (SNAPMODE_MODEL_CHECKPOINT or the "
                                                   "shipped one)")] = None,
          lr: Annotated[float | None, typer.Option(min=0.0, help="Learning rate of the new heads")] = None,
          half_weights: Annotated[bool, typer.Option(help="Store the weights as float16 (half the size)")] = False,
          allow_private: AllowPrivateOption = False,
          as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON on stdout")] = False,
          progress: Annotated[bool, typer.Option(help="Show progress bars")] = True) -> None:
    """Train the CBIR-GAN (or the plain triplet baseline) and write a checkpoint folder. On a shop's products (a crawl's
    .jsonl or --dataset store), each product's last photo is held out and the new checkpoint is scored on those views
    beside the current embedder."""
    from snapmode.cli import shop_training
    from snapmode.config import get_settings
    from snapmode.model.checkpoint import CONFIG, load_config
    from snapmode.model.config import CbirGanConfig, triplet_baseline
    from snapmode.model.device import resolve_device
    from snapmode.model.train import fit

    if resume and init is not None:
        raise typer.BadParameter("--resume goes on from --out, --init starts a new run: choose one", param_hint="--init")
    settings = allowing_private(get_settings(), allow_private)
    start = current_checkpoint(settings) if init == "current" else (Path(init) if init else None)
    try:  # a fine-tune goes on with its checkpoint's recipe unless --config names another
        base = (CbirGanConfig.load(config) if config
                else load_config(start) if start is not None and (start / CONFIG).is_file() else CbirGanConfig())
        cfg = base.with_overrides(epochs=epochs, batch_size=batch_size, image_size=image_size, seed=seed, lr=lr)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if triplet_only:
        cfg = triplet_baseline(cfg)
    shop = shop_training.is_shop_source(data, dataset)
    if shop:
        products, split, report = shop_training.prepare(data, dataset, cfg, settings, show_progress=progress)
    else:
        products = load_training_products(data, dataset)
    console.print(f"training on {len(products)} products, {sum(len(p.images) for p in products)} images -> {out}")
    try:
        metrics = fit(products, out, cfg, resolve_device(device), resume=resume, init=start, half_weights=half_weights,
                      whitening_images=lambda: whitening_drawings(cfg, settings, progress), show_progress=progress)
    except (FileNotFoundError, ValueError) as exc:  # no checkpoint to resume or fine-tune from, or a mismatched one
        raise typer.BadParameter(str(exc)) from exc
    if shop:
        metrics = {**metrics, "images": report.as_dict(),
                   "held_out": shop_training.score(out, split, settings, device=device, show_progress=progress)}
    if as_json:
        typer.echo(json.dumps(metrics, indent=2))
        return
    print_training(metrics, out)
    if shop:
        shop_training.print_comparison(metrics["held_out"], out)


def print_training(metrics: dict, out: Path) -> None:
    """The run's last epoch: its losses and validation scores, and where the checkpoint went."""
    table = Table(title=f"Trained: {out}", show_header=False)
    for key in ("epoch", "step", "train_products", "val_products", "note"):
        if key in metrics:
            table.add_row(key.replace("_", " "), str(metrics[key]))
    for group in ("train", "val"):
        for name, value in metrics.get(group, {}).items():
            table.add_row(f"{group} {name}", f"{value:.4f}" if isinstance(value, float) else str(value))
    console.print(table)


def whitening_drawings(cfg: CbirGanConfig, settings: Settings, show_progress: bool) -> list[Image.Image]:
    """The unlabeled drawings that a new run's whitening is learned from (the package is downloaded once, cached)."""
    from snapmode.cli.tracking import tracking
    from snapmode.datasets.realsets.clipart import drawings
    from snapmode.datasets.realsets.packages import PackageUnavailable

    with tracking(console, show=show_progress) as track:
        try:
            images, package = drawings(settings.package_cache, cfg.whitening_images, track=track)
        except PackageUnavailable as exc:
            raise typer.BadParameter(f"the whitening's drawings: {exc}", param_hint="--config") from exc
    console.print(f"whitening learned from {len(images)} drawings of {package.name} {package.version}")
    return images


def current_checkpoint(settings: Settings) -> Path:
    """The CBIR-GAN checkpoint that embeds with these settings."""
    from snapmode.model.checkpoint import DEFAULT_CHECKPOINT

    return settings.model_checkpoint or DEFAULT_CHECKPOINT


def evaluate(model: Annotated[Path | None, typer.Option(help="CBIR-GAN checkpoint folder", show_default="the shipped one")] = None,
             data: Annotated[Path, typer.Option(help="A catalog, a <product_id>/*.jpg folder, an In-shop root, or a "
                                                     "retrieval set (gallery/ + queries/ folders, or a .tsv)")] = ...,
             dataset: DatasetOption = "auto",
             protocol: Annotated[str, typer.Option(help="held-out: each product's last photo queries the others | "
                                                        "all-views: every photo queries all the others")] = "held-out",
             baselines: Annotated[bool, typer.Option(help="Also score the pretrained backbone, the plain triplet "
                                                          "network and a colour histogram")] = False,
             triplet_model: Annotated[Path | None, typer.Option(help="Plain triplet checkpoint", show_default="shipped")] = None,
             out: Annotated[Path | None, typer.Option(help="Where to write the table, JSON and plots")] = None,
             device: Annotated[str, typer.Option(help="auto | cpu | cuda | cuda:N")] = "auto",
             runtime: Annotated[EmbedRuntime | None, typer.Option(
                 help="What runs the CBIR-GANs", show_default="SNAPMODE_EMBED_RUNTIME, auto")] = None,
             as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object keyed by method")] = False,
             progress: Annotated[bool, typer.Option(help="Show progress bars")] = True) -> None:
    """Score retrieval of held-out views, or of all views (In-shop and retrieval sets: their own query/gallery split):
    P@1, P@10, mAP@10, R@1, R@10."""
    from snapmode.config import get_settings
    from snapmode.platform import build_cbir_gan
    from snapmode.model.backbone import BackboneEmbedder
    from snapmode.model.baselines import ColourHistogramEmbedder
    from snapmode.model.checkpoint import DEFAULT_TRIPLET_CHECKPOINT
    from snapmode.model.data import load_split
    from snapmode.model.evaluate import evaluate as run_evaluation
    from snapmode.model.evaluate import markdown_report, write_report

    if dataset in ("records", "store"):
        raise typer.BadParameter(f"--dataset {dataset} is for train, which scores on that shop's held-out views",
                                 param_hint="--dataset")
    settings = get_settings()
    runtime = runtime or settings.embed_runtime
    gan = lambda checkpoint, name: build_cbir_gan(checkpoint, runtime=runtime, device=device,  # noqa: E731
                                                  threads=settings.torch_threads, name=name)
    try:
        split = load_split(data, dataset, protocol)  # type: ignore[arg-type]
        embedders = [gan(model, "cbir-gan")]
    except (FileNotFoundError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    if split.skipped:
        image, reason = split.skipped[0]
        console.print(f"skipped {len(split.skipped)} unreadable image(s), first {image}: {reason}", soft_wrap=True,
                      markup=False, highlight=False)
    if baselines:
        embedders += [BackboneEmbedder(device=device),
                      gan(triplet_model or DEFAULT_TRIPLET_CHECKPOINT, "triplet"),
                      ColourHistogramEmbedder()]
    results = run_evaluation(embedders, split, show_progress=progress)
    if out is not None:
        written = write_report(results, split, out)
        console.print(f"wrote {', '.join(str(p) for p in written.values())}")
    if as_json:
        typer.echo(json.dumps({name: r.metrics for name, r in results.items()}, indent=2))
    else:
        typer.echo(f"{len(split.queries)} queries, {len(split.gallery)} gallery images\n")
        typer.echo(markdown_report(results))


def register(app: typer.Typer, panel: str | None = None) -> None:
    """Add `train` and `eval` to the `snapmode` app."""
    app.command("train", short_help="Train a CBIR-GAN (or its triplet twin) on a catalog or a shop.",
                rich_help_panel=panel)(train)
    app.command("eval", short_help="Score retrieval against the baselines.", rich_help_panel=panel)(evaluate)


if __name__ == "__main__":
    standalone = typer.Typer(no_args_is_help=True, pretty_exceptions_show_locals=False)
    register(standalone)
    standalone()
