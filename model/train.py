"""The training run: products in, a checkpoint folder out (weights, config, metrics, loss plot, reconstructions)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import torch
from PIL import Image

from snapmode.logs import get_logger
from snapmode.progress import progress_bars
from snapmode.model.batches import ImageBank
from snapmode.model.checkpoint import RESUME, load_config, save_checkpoint
from snapmode.model.config import CbirGanConfig
from snapmode.model.data import Product
from snapmode.model.plots import plot_losses, reconstruction_grid
from snapmode.model.trainer import Trainer, split_products

log = get_logger(__name__)


def load_bank(products: Sequence[Product], size: int, label: str, show_progress: bool) -> ImageBank:
    total = sum(len(p.images) for p in products)
    with progress_bars(show=show_progress) as bars:
        task = bars.add_task(f"loading {label} images", total=total)
        return ImageBank(products, size, on_progress=lambda n=1: bars.update(task, advance=n))


def fit(products: Sequence[Product], out: Path, config: CbirGanConfig, device: torch.device, *,
        resume: bool = False, init: Path | None = None, half_weights: bool = False,
        whitening_images: Callable[[], Sequence[Image.Image]] | None = None, show_progress: bool = True) -> dict:
    """Train on `products` (a share held out for validation), writing a checkpoint into `out` after each validation.

    With `resume`, the run picks up from the checkpoint in `out` (its config wins, except for `epochs`). Otherwise, with
    `init`, a new run (fresh optimisers and schedule) starts from the weights of that checkpoint, whose networks must
    match the config's: a fine-tune. A new run of a config with a whitening learns it first, from the images that `whitening_images()` gives.
    Returns the final metrics.
    """
    out = Path(out)
    if resume:
        if not (out / RESUME).is_file():
            raise FileNotFoundError(f"{out}: nothing to resume ({RESUME} missing)")
        config = replace(load_config(out), epochs=config.epochs)
    elif init is not None and load_config(init).architecture != config.architecture:
        raise ValueError(f"{init}: its networks differ from this run's (image size, code size, widths, decoder or "
                         "discriminator); fine-tune from a checkpoint trained with the same kind of config")
    train_products, val_products = split_products(products, config.val_fraction, config.seed)
    bank = load_bank(train_products, config.input_size, "training", show_progress)
    val_bank = load_bank(val_products, config.input_size, "validation", show_progress) if val_products else None
    products_per_batch = max(2, config.batch_size // config.views_per_product)
    steps_per_epoch = max(1, len(train_products) // products_per_batch)
    trainer = Trainer(config, device, total_steps=config.epochs * steps_per_epoch)
    if resume:
        trainer.load_weights(out)
        trainer.load_resume_state(torch.load(out / RESUME, weights_only=False))
    elif init is not None:
        trainer.load_weights(init)
    elif config.whitening:
        if whitening_images is None:
            raise ValueError(f"the {config.whitening!r} whitening needs images to learn from")
        trainer.whiten(whitening_images())
    if resume or init is not None:
        trainer.keep_start()

    metrics: dict = {}
    with progress_bars(show=show_progress) as bars:
        epochs = bars.add_task("epochs", total=config.epochs, completed=trainer.epoch)
        while trainer.epoch < config.epochs:
            steps = bars.add_task(f"epoch {trainer.epoch + 1}", total=steps_per_epoch)

            def on_step(step_metrics: dict, steps: int = steps) -> None:
                bars.update(steps, advance=1, note=f"loss {step_metrics['loss_total']:.3f} "
                                                   f"triplet {step_metrics['loss_triplet']:.3f}")
            train_metrics = trainer.train_epoch(bank, on_step=on_step)
            bars.remove_task(steps)
            metrics = {"epoch": trainer.epoch, "step": trainer.step, "train": train_metrics,
                       "train_products": len(train_products), "val_products": len(val_products)}
            last = trainer.epoch == config.epochs
            if val_bank is not None and (trainer.epoch % config.val_every == 0 or last):
                metrics["val"] = trainer.validate(val_bank)
            bars.update(epochs, advance=1, note=" ".join(f"{k} {v:.3f}" for k, v in metrics.get("val", {}).items()
                                                        if k in ("p@1", "map@10")))
            log.info("epoch done", epoch=trainer.epoch, step=trainer.step,
                     **{k: round(v, 4) for k, v in train_metrics.items()},
                     **{f"val_{k}": round(v, 4) for k, v in metrics.get("val", {}).items()})
            if metrics.get("val") or last:
                save_checkpoint(out, config=config, modules=trainer.modules(), metrics=metrics,
                                resume_state=trainer.resume_state(), half=half_weights)
    if trainer.epoch >= config.epochs and not metrics:
        metrics = {"epoch": trainer.epoch, "step": trainer.step, "note": "already trained for the requested epochs"}
    write_pictures(trainer, val_bank or bank, out)
    return metrics


def write_pictures(trainer: Trainer, bank: ImageBank, out: Path, pairs: int = 16) -> None:
    """`losses.png` (the loss curves) and, for a model with a decoder, `reconstructions.png`."""
    plot_losses(trainer.history, out / "losses.png")
    sample = bank.images[:pairs]  # at the encoder's input size, as it embeds them
    recons = trainer.reconstruct(sample)
    if recons is not None:
        reconstruction_grid(trainer.at_image_size(sample), recons, out / "reconstructions.png")
