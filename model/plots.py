"""Pictures of training and evaluation: loss curves, input/reconstruction pairs, precision-recall, query results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402


def plot_losses(history: Sequence[dict], path: Path) -> Path:
    """Each loss against the step (smoothed), and the validation metrics against the step."""
    steps = [row for row in history if "loss_total" in row]
    vals = [row for row in history if "val_map@10" in row]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for key in ("loss_total", "loss_triplet", "loss_pixel", "loss_perceptual", "loss_adversarial", "loss_d"):
        xs = [r["step"] for r in steps if key in r]
        ys = np.array([r[key] for r in steps if key in r])
        if len(ys):
            window = max(1, len(ys) // 50)
            smooth = np.convolve(ys, np.ones(window) / window, mode="valid")
            left.plot(xs[len(xs) - len(smooth):], smooth, label=key.removeprefix("loss_"))
    left.set(xlabel="step", ylabel="loss", title="training losses")
    left.legend()
    for key in ("val_p@1", "val_map@10"):
        right.plot([r["step"] for r in vals], [r[key] for r in vals], marker="o", label=key.removeprefix("val_"))
    right.set(xlabel="step", ylabel="score", title="validation (held-out views)", ylim=(0, 1.02))
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def to_pil(image: torch.Tensor) -> Image.Image:
    """A (3, h, w) tensor in [-1, 1] as a PIL image."""
    array = ((image.float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    return Image.fromarray(array)


def reconstruction_grid(inputs: torch.Tensor, recons: torch.Tensor, path: Path, columns: int = 8) -> Path:
    """Pairs of rows: inputs above their reconstructions."""
    n, size = len(inputs), inputs.shape[-1]
    rows = (n + columns - 1) // columns
    grid = Image.new("RGB", (columns * size, rows * 2 * size), "white")
    for i in range(n):
        x, y = (i % columns) * size, (i // columns) * 2 * size
        grid.paste(to_pil(inputs[i]), (x, y))
        grid.paste(to_pil(recons[i]), (x, y + size))
    grid.save(path)
    return path


def plot_precision_recall(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 5))
    for name, (precision, recall) in curves.items():
        ax.plot(recall, precision, marker=".", label=name)
    ax.set(xlabel="recall", ylabel="precision", title="precision-recall over the top k (k = 1..)", xlim=(0, 1.02),
           ylim=(0, 1.02))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def query_grid(queries: Sequence[Path], results: Sequence[Sequence[Path]], correct: np.ndarray, path: Path,
               size: int = 112) -> Path:
    """One row per query: the query, then its top results framed green (same product) or red."""
    cols = 1 + max(len(r) for r in results)
    grid = Image.new("RGB", (cols * (size + 6), len(queries) * (size + 6)), "white")
    for row, (query, found) in enumerate(zip(queries, results)):
        y = row * (size + 6) + 3
        grid.paste(_thumb(query, size, (40, 40, 40)), (3, y))
        for col, result in enumerate(found, 1):
            colour = (30, 160, 60) if correct[row, col - 1] else (210, 40, 40)
            grid.paste(_thumb(result, size, colour), (col * (size + 6) + 3, y))
    grid.save(path)
    return path


def _thumb(path: Path, size: int, border: tuple[int, int, int]) -> Image.Image:
    with Image.open(path) as image:
        thumb = ImageOps.pad(image.convert("RGB"), (size - 6, size - 6), color="white")
    framed = Image.new("RGB", (size, size), border)
    framed.paste(thumb, (3, 3))
    return framed
