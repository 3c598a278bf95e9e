"""The null embedder: a deterministic unit vector per image at next to no cost, for measuring what the ingestion
pipeline costs apart from the model (`snapmode bench ingest --embedder null`). Never for serving: its vectors say
nothing about what an image shows."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from PIL import Image

SAMPLE_BYTES = 4096  # the pixels a vector is drawn from: identical images get identical vectors


class NullEmbedder:
    name = "null"

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.model_id = f"null-{dim}"

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        return np.stack([self.vector(image) for image in images]) if images else np.zeros((0, self.dim), "float32")

    def vector(self, image: Image.Image) -> np.ndarray:
        pixels = image.tobytes()
        step = max(1, len(pixels) // SAMPLE_BYTES)
        seed = hashlib.blake2b(pixels[::step] + f"{image.size}".encode(), digest_size=8).digest()
        vector = np.random.default_rng(int.from_bytes(seed, "little")).standard_normal(self.dim).astype("float32")
        return vector / np.linalg.norm(vector)
