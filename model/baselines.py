"""The colour-histogram floor: what retrieval scores with no learning at all."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from snapmode.model.preprocess import square_resize


class ColourHistogramEmbedder:
    """A joint RGB histogram (8 bins a channel) of the image, square-rooted (Hellinger) and L2-normalised."""

    name = model_id = "colour-histogram"

    def __init__(self, *, bins: int = 8, size: int = 128) -> None:
        self.bins, self.size = bins, size
        self.dim = bins ** 3

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        out = np.empty((len(images), self.dim), dtype=np.float32)
        for i, image in enumerate(images):
            pixels = np.asarray(square_resize(image, self.size), dtype=np.int64) * self.bins // 256
            codes = (pixels[..., 0] * self.bins + pixels[..., 1]) * self.bins + pixels[..., 2]
            histogram = np.sqrt(np.bincount(codes.ravel(), minlength=self.dim).astype(np.float32))
            out[i] = histogram / np.linalg.norm(histogram)
        return out
