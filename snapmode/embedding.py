"""Build the configured `Embedder` (pretrained backbone or CBIR-GAN)."""

from __future__ import annotations

from snapmode.config import Settings
from snapmode.interfaces import Embedder


def build_embedder(settings: Settings) -> Embedder:
    if settings.embedder == "backbone":
        from snapmode.model.backbone import BackboneEmbedder

        return BackboneEmbedder(device=settings.device, batch_size=settings.embed_batch_size)
    if settings.embedder == "cbir-gan":
        from snapmode.model.embedder import CbirGanEmbedder

        return CbirGanEmbedder(settings.model_checkpoint, device=settings.device, batch_size=settings.embed_batch_size)
    raise ValueError(f"unknown embedder {settings.embedder!r}")
