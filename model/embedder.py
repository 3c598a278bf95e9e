"""The CBIR-GAN `Embedder`: the encoder of a checkpoint, batched, fp16 on CUDA, float32 on the CPU."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from snapmode.model.checkpoint import DEFAULT_CHECKPOINT, load_generator, weights_digest
from snapmode.model.device import resolve_device
from snapmode.model.preprocess import to_tensor


def checkpoint_model_id(checkpoint: Path) -> str:
    """What names the vectors a checkpoint makes, whichever runtime runs it: `cbir-gan:<digest of its weights>`."""
    return f"cbir-gan:{weights_digest(checkpoint)}"


class CbirGanEmbedder:
    """Embeds images as the L2-normalised code z of a trained CBIR-GAN encoder."""

    def __init__(self, checkpoint: Path | None = None, *, device: str = "auto", batch_size: int = 32,
                 name: str = "cbir-gan") -> None:
        self.checkpoint = Path(checkpoint) if checkpoint is not None else DEFAULT_CHECKPOINT
        generator, self.config = load_generator(self.checkpoint)
        self.name, self.dim, self.batch_size = name, self.config.z_dim, batch_size
        self.model_id = checkpoint_model_id(self.checkpoint)
        self.device = resolve_device(device)
        self.encoder = generator.encoder.to(self.device).eval()
        self.half = self.device.type == "cuda"
        if self.half:
            self.encoder.half()

    @torch.inference_mode()
    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        out = np.empty((len(images), self.dim), dtype=np.float32)
        for start in range(0, len(images), self.batch_size):
            chunk = images[start:start + self.batch_size]
            batch = to_tensor(chunk, self.config.input_size).to(self.device)
            vectors = self.encoder(batch.half() if self.half else batch).float()
            if self.half:  # unit length again after fp16 rounding
                vectors = F.normalize(vectors, dim=1)
            out[start:start + len(chunk)] = vectors.cpu().numpy()
        return out
