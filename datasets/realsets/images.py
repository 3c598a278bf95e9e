"""Source images made ready for a set: alpha flattened onto white, and a test that tells photographs from drawings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

BACKGROUND = (255, 255, 255)


@dataclass(frozen=True, slots=True)
class PhotoTest:
    """A photograph has sensor noise: most of its opaque pixels have a colour of their own, and its few most frequent
    colours cover little of it; a drawing is flat fills and gradients."""

    min_unique_share: float = 0.3  # distinct colours / opaque pixels
    max_top_share: float = 0.2  # share of the opaque pixels in the 8 most frequent colours
    min_pixels: int = 400
    min_side: int = 48

    def __call__(self, image: Image.Image) -> bool:
        if min(image.size) < self.min_side:
            return False
        rgba = np.asarray(image.convert("RGBA"))
        pixels = rgba[..., :3][rgba[..., 3] > 128].astype(np.int64)
        if len(pixels) < self.min_pixels:
            return False
        _, counts = np.unique(pixels[:, 0] << 16 | pixels[:, 1] << 8 | pixels[:, 2], return_counts=True)
        top = np.sort(counts)[::-1][:8].sum() / len(pixels)
        return len(counts) / len(pixels) >= self.min_unique_share and top <= self.max_top_share


def open_flat(path: Path) -> Image.Image:
    """An RGB image, any transparency composited onto a white background (how shops show cut-out products)."""
    with Image.open(path) as image:
        rgba = image.convert("RGBA")
    flat = Image.new("RGB", rgba.size, BACKGROUND)
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


def pixel_digest(image: Image.Image) -> bytes:
    """A key equal for images with the same pixels, to drop duplicates shipped under two names."""
    import hashlib

    return hashlib.blake2b(image.tobytes() + repr(image.size).encode(), digest_size=16).digest()
