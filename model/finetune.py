"""Fine-tuning on a shop's own products: hold out a view per product, check the catalog is big enough, and score the
new checkpoint against the current embedder on the held-out views."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from snapmode.interfaces import Embedder
from snapmode.model.config import CbirGanConfig
from snapmode.model.data import Product, RetrievalSplit, held_out_split

COMPARED = ("p@1", "map@10", "r@10")


def holdout(galleries: Mapping[str, Sequence[Path]]) -> tuple[list[Product], RetrievalSplit]:
    """(training products, evaluation split): a product with two or more photos trains on all but its last photo,
    which queries the others, as `snapmode eval` does; a product with one photo trains on it and is a distractor."""
    products = [Product(key, tuple(photos)) for key, photos in galleries.items() if photos]
    train = [Product(p.product_id, p.images[:-1] if len(p.images) >= 2 else p.images) for p in products]
    return train, held_out_split(products)


def check_size(train: Sequence[Product], split: RetrievalSplit, config: CbirGanConfig) -> None:
    """Refuse (ValueError, one line) a catalog too small to score on held-out views or to fill a training batch."""
    if len(split.queries) < 2:
        raise ValueError(f"{len(split.queries)} product(s) with two or more usable images: at least 2 are needed to "
                         "hold out a view of each and compare the models; give a bigger catalog")
    n_val = int(round(len(train) * config.val_fraction)) if config.val_fraction > 0 else 0
    per_batch = max(2, config.batch_size // config.views_per_product)
    usable = len(train) - n_val
    if usable < per_batch:
        held = f" ({n_val} more kept for validation)" if n_val else ""
        fix = (f"lower --batch-size to {max(4, usable * config.views_per_product)} or give more products"
               if usable >= 2 else "give more products")
        raise ValueError(f"{usable} products to train on{held}, but a batch of {config.batch_size} images takes "
                         f"{per_batch} products of {config.views_per_product} views: {fix}")


@dataclass(frozen=True)
class Renamed:
    """An embedder reported under another name."""

    inner: Embedder
    name: str

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        return self.inner.embed(images)


def compare(new_checkpoint: Path, current: Embedder, split: RetrievalSplit, *, device: str = "auto",
            show_progress: bool = True) -> dict[str, dict[str, float]]:
    """Every retrieval metric of the new checkpoint and of the current embedder on the split, keyed "new" and
    "current"."""
    from snapmode.model.embedder import CbirGanEmbedder
    from snapmode.model.evaluate import evaluate

    embedders = [CbirGanEmbedder(new_checkpoint, device=device, name="new"), Renamed(current, "current")]
    results = evaluate(embedders, split, show_progress=show_progress)
    return {name: result.metrics for name, result in results.items()}
