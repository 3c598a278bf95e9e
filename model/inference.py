"""How the torch embedders run a network on images: batched, fp16 on CUDA, float32 on the CPU, float32 rows out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
import torch
from PIL import Image
from torch import nn

from snapmode.model.preprocess import to_tensor

M = TypeVar("M", bound=nn.Module)


def half_precision(device: torch.device) -> bool:
    """Whether inference on `device` runs in fp16 (on CUDA) rather than float32."""
    return device.type == "cuda"


def for_inference(module: M, device: torch.device) -> M:
    """`module` on `device` in eval mode, in fp16 where inference there runs in fp16."""
    module = module.to(device).eval()
    return module.half() if half_precision(device) else module


@torch.inference_mode()
def embed_batches(images: Sequence[Image.Image], encode: Callable[[torch.Tensor], torch.Tensor], *, dim: int,
                  size: int, device: torch.device, batch_size: int) -> np.ndarray:
    """(n, dim) float32 rows: `encode` of each batch of `batch_size` images, resized to `size` on `device`."""
    out = np.empty((len(images), dim), dtype=np.float32)
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        batch = to_tensor(chunk, size).to(device)
        vectors = encode(batch.half() if half_precision(device) else batch)
        out[start:start + len(chunk)] = vectors.float().cpu().numpy()
    return out
