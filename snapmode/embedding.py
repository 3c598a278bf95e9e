"""Build the configured `Embedder` (pretrained backbone or CBIR-GAN), or learn its dimension without loading it."""

from __future__ import annotations

from snapmode.config import Settings
from snapmode.interfaces import Embedder


def build_embedder(settings: Settings) -> Embedder:
    if settings.torch_threads:
        import torch

        torch.set_num_threads(settings.torch_threads)  # process-wide
    if settings.embedder == "backbone":
        from snapmode.model.backbone import BackboneEmbedder

        return BackboneEmbedder(device=settings.device, batch_size=settings.embed_batch_size)
    if settings.embedder == "cbir-gan":
        from snapmode.model.embedder import CbirGanEmbedder

        return CbirGanEmbedder(settings.model_checkpoint, device=settings.device, batch_size=settings.embed_batch_size)
    raise ValueError(f"unknown embedder {settings.embedder!r}")


def embedder_dim(settings: Settings) -> int:
    """The vector dimension of the configured embedder, read from its class or checkpoint config, not its weights."""
    if settings.embedder == "backbone":
        from snapmode.model.backbone import BackboneEmbedder

        return int(BackboneEmbedder.dim)
    if settings.embedder == "cbir-gan":
        from snapmode.model.checkpoint import DEFAULT_CHECKPOINT, load_config

        return load_config(settings.model_checkpoint or DEFAULT_CHECKPOINT).z_dim
    raise ValueError(f"unknown embedder {settings.embedder!r}")
