"""Build the configured `Embedder` (pretrained backbone or CBIR-GAN on its runtime), or learn its identity without
loading it."""

from __future__ import annotations

from pathlib import Path

from snapmode.config import Settings
from snapmode.interfaces import Embedder
from snapmode.logs import get_logger

log = get_logger(__name__)


def build_embedder(settings: Settings) -> Embedder:
    if settings.embedder == "backbone":
        _set_torch_threads(settings.torch_threads)
        from snapmode.model.backbone import BackboneEmbedder

        return BackboneEmbedder(device=settings.device, batch_size=settings.embed_batch_size)
    if settings.embedder == "cbir-gan":
        return build_cbir_gan(settings.model_checkpoint, runtime=settings.embed_runtime, device=settings.device,
                              threads=settings.torch_threads, batch_size=settings.embed_batch_size)
    raise ValueError(f"unknown embedder {settings.embedder!r}")


def build_cbir_gan(checkpoint: Path | None, *, runtime: str = "auto", device: str = "auto", threads: int = 0,
                   batch_size: int = 32, name: str = "cbir-gan") -> Embedder:
    """A checkpoint's embedder on `runtime`: `auto` is torch on CUDA and the exported int8 graph in OpenVINO on the CPU
    (torch, with a warning, for a checkpoint that has none)."""
    from snapmode.model.device import resolve_device
    from snapmode.model.export import graph_path

    if runtime == "auto":
        if resolve_device(device).type != "cpu":
            runtime = "torch"
        elif graph_path(checkpoint).is_file():
            runtime = "openvino"  # measured against ONNX Runtime on the same graph: 1.3-1.4 x the images/s
        else:
            log.warning("embedder.no_graph", checkpoint=str(checkpoint or "shipped"),
                        fix="`snapmode export` makes its int8 graph, several times faster on the CPU")
            runtime = "torch"
    if runtime == "torch":
        _set_torch_threads(threads)
        from snapmode.model.embedder import CbirGanEmbedder

        return CbirGanEmbedder(checkpoint, device=device, batch_size=batch_size, name=name)
    from snapmode.model.runtime import GraphEmbedder

    return GraphEmbedder(checkpoint, runtime=runtime, threads=threads, batch_size=batch_size,  # type: ignore[arg-type]
                         name=name)


def _set_torch_threads(threads: int) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)  # process-wide


def embedder_identity(settings: Settings) -> tuple[str, int]:
    """(model id, dimension) of the configured embedder, read from its class or checkpoint, without loading it."""
    if settings.embedder == "backbone":
        from snapmode.model.backbone import BackboneEmbedder

        return BackboneEmbedder.model_id, int(BackboneEmbedder.dim)
    if settings.embedder == "cbir-gan":
        from snapmode.model.checkpoint import DEFAULT_CHECKPOINT
        from snapmode.model.embedder import checkpoint_model_id

        checkpoint = settings.model_checkpoint or DEFAULT_CHECKPOINT
        return checkpoint_model_id(checkpoint), embedder_dim(settings)
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
