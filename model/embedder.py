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
from snapmode.model.inference import embed_batches, for_inference, half_precision


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
        self.encoder = for_inference(generator.encoder, self.device)

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        return embed_batches(images, self._encode, dim=self.dim, size=self.config.input_size, device=self.device,
                             batch_size=self.batch_size)

    def _encode(self, batch: torch.Tensor) -> torch.Tensor:
        vectors = self.encoder(batch).float()
        return F.normalize(vectors, dim=1) if half_precision(self.device) else vectors  # unit length after fp16
