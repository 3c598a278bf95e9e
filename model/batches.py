"""Training images held as preprocessed tensors, and P x K batches: P products, K photos of each."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from PIL import Image

from snapmode.model.data import Product
from snapmode.model.preprocess import to_tensor


def open_rgb(path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


class ImageBank:
    """Every photo of the given products, preprocessed once with `to_tensor` (the inference preprocessing)."""

    def __init__(self, products: Sequence[Product], size: int, *, chunk: int = 256,
                 on_progress: Callable[[int], None] | None = None) -> None:
        self.products = list(products)
        paths = [path for product in self.products for path in product.images]
        self.owner = torch.tensor([i for i, product in enumerate(self.products) for _ in product.images])
        self.views: list[list[int]] = []
        start = 0
        for product in self.products:
            self.views.append(list(range(start, start + len(product.images))))
            start += len(product.images)
        tensors = []
        for begin in range(0, len(paths), chunk):
            part = paths[begin:begin + chunk]
            tensors.append(to_tensor([open_rgb(p) for p in part], size))
            if on_progress:
                on_progress(len(part))
        self.images = torch.cat(tensors) if tensors else torch.empty(0, 3, size, size)

    def __len__(self) -> int:
        return len(self.images)


def pk_batches(bank: ImageBank, *, products_per_batch: int, views_per_product: int,
               rng: np.random.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch of (images, labels) batches: every product once, with `views_per_product` of its photos, different
    photos where it has enough (a product with one photo repeats it; augmentation makes the copies differ)."""
    order = rng.permutation(len(bank.products))
    for begin in range(0, max(1, len(order) - products_per_batch + 1), products_per_batch):
        indices, labels = [], []
        for product in order[begin:begin + products_per_batch]:
            views = bank.views[product]
            replace = len(views) < views_per_product
            indices += list(rng.choice(views, size=views_per_product, replace=replace))
            labels += [int(product)] * views_per_product
        yield bank.images[indices], torch.tensor(labels)
