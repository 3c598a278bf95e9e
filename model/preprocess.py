"""The one image -> tensor preprocessing, shared by training and inference so both see identical inputs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

# EfficientNet-Lite was trained on inputs scaled to [-1, 1].
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)


def square_resize(image: Image.Image, size: int, fill: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Pad to a square canvas (the whole product stays in view), then resize to `size` x `size`."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    if image.width != image.height:  # a square one is its own canvas
        side = max(image.size)
        canvas = Image.new("RGB", (side, side), fill)
        canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
        image = canvas
    return image.resize((size, size), Image.Resampling.BILINEAR)


def to_pixels(images: Sequence[Image.Image], size: int) -> np.ndarray:
    """A uint8 batch (n, size, size, 3) of RGB pixels, as the exported inference graph takes it."""
    pixels = np.empty((len(images), size, size, 3), dtype=np.uint8)
    for i, image in enumerate(images):
        pixels[i] = np.asarray(square_resize(image, size))
    return pixels


def to_tensor(images: Sequence[Image.Image], size: int) -> torch.Tensor:
    """A float32 batch (n, 3, size, size) normalised to [-1, 1]."""
    arrays = np.stack([np.asarray(square_resize(im, size), dtype=np.float32) for im in images])
    batch = torch.from_numpy(arrays).permute(0, 3, 1, 2).div_(255.0)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (batch - mean) / std
