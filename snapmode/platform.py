"""The composition root: wire the configured parts together once (the embedder on its runtime, the stores, the ingest
runner, the search service), for the CLI, the API and the Storm bolts alike. The only module besides the CLI that
imports the rooms above the ground floor to build them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from snapmode.config import Settings
from snapmode.interfaces import Embedder, EmbedderUnavailable, MetadataStore, VectorStore
from snapmode.logs import get_logger
from snapmode.pipeline.decode import DecodeLimits
from snapmode.pipeline.options import decode_limits
from snapmode.pipeline.runner import IngestRunner
from snapmode.queue.deadletters import dead_letter_file
from snapmode.search.service import SearchService
from snapmode.stores.factory import build_stores

log = get_logger(__name__)


@dataclass
class Platform:
    settings: Settings
    embedder: Embedder
    vectors: VectorStore
    metadata: MetadataStore

    @classmethod
    def build(cls, settings: Settings, *, serving: bool = False, embedder: Embedder | None = None) -> Platform:
        """`serving`: this process will serve the API, and shares its embedded stores with other commands.
        `embedder`: an already loaded model to use instead of building the configured one."""
        if settings.embedder == "null" or getattr(embedder, "name", "") == "null":
            raise EmbedderUnavailable("the null embedder only measures the ingestion pipeline "
                                      "(`snapmode bench ingest --embedder null`): set SNAPMODE_EMBEDDER to a model")
        if embedder is None:
            embedder = build_embedder(settings)
        vectors, metadata = build_stores(settings, embedder.dim, model_id=embedder.model_id, serving=serving)
        return cls(settings=settings, embedder=embedder, vectors=vectors, metadata=metadata)

    @property
    def limits(self) -> DecodeLimits:
        return decode_limits(self.settings)

    @property
    def dead_letter_path(self) -> Path:
        return dead_letter_file(self.settings)

    def runner(self, *, skip_indexed: bool = False, allow_files: bool = True) -> IngestRunner:
        """An ingest runner (`IngestRunner.from_settings`) writing to this platform's stores."""
        return IngestRunner.from_settings(self.settings, embedder=self.embedder, vectors=self.vectors,
                                          metadata=self.metadata, skip_indexed=skip_indexed, allow_files=allow_files)

    @cached_property
    def search(self) -> SearchService:
        return SearchService(self.embedder, self.vectors, self.metadata, self.limits,
                             oversample=self.settings.search_oversample, hybrid_depth=self.settings.hybrid_depth,
                             rrf_k=self.settings.rrf_k)

    def close(self) -> None:
        self.vectors.close()
        self.metadata.close()


# -- The embedder ---------------------------------------------------------------------------------------------------
# Built, or its identity learnt without loading it: the pretrained backbone, or the CBIR-GAN on its runtime.

def build_embedder(settings: Settings) -> Embedder:
    if settings.embedder == "backbone":
        _set_torch_threads(settings.torch_threads)
        from snapmode.model.backbone import BackboneEmbedder

        return BackboneEmbedder(device=settings.device, batch_size=settings.embed_batch_size)
    if settings.embedder == "cbir-gan":
        return build_cbir_gan(settings.model_checkpoint, runtime=settings.embed_runtime, device=settings.device,
                              threads=settings.torch_threads, batch_size=settings.embed_batch_size)
    if settings.embedder == "null":
        from snapmode.model.null import NullEmbedder

        return NullEmbedder(embedder_dim(settings))
    raise ValueError(f"unknown embedder {settings.embedder!r}")


def build_cbir_gan(checkpoint: Path | None, *, runtime: str = "auto", device: str = "auto", threads: int = 0,
                   batch_size: int = 32, name: str = "cbir-gan") -> Embedder:
    """A checkpoint's embedder on `runtime` (`resolve_runtime`)."""
    chosen = resolve_runtime(checkpoint, runtime, device)
    if chosen == "torch":
        if runtime == "auto" and resolve_device_type(device) == "cpu":
            log.warning("embedder.no_graph", checkpoint=str(checkpoint or "shipped"),
                        fix="`snapmode export` makes its int8 graph, several times faster on the CPU")
        _set_torch_threads(threads)
        from snapmode.model.embedder import CbirGanEmbedder

        return CbirGanEmbedder(checkpoint, device=device, batch_size=batch_size, name=name)
    from snapmode.model.runtime import GraphEmbedder

    return GraphEmbedder(checkpoint, runtime=chosen, threads=threads, batch_size=batch_size,  # type: ignore[arg-type]
                         name=name)


def resolve_runtime(checkpoint: Path | None, runtime: str, device: str) -> str:
    """`auto`: torch on CUDA; on the CPU the exported int8 graph in ONNX Runtime (against OpenVINO on the same graph:
    as fast at batch 1, a little faster at batch 32), or torch for a checkpoint that has none. Others as named."""
    if runtime != "auto":
        return runtime
    from snapmode.model.export import graph_path

    if resolve_device_type(device) != "cpu" or not graph_path(checkpoint).is_file():
        return "torch"
    return "onnxruntime"


def resolve_device_type(device: str) -> str:
    from snapmode.model.device import resolve_device

    return resolve_device(device).type


def check_embedder(settings: Settings) -> None:
    """Refuse, as building it would (`EmbedderUnavailable`), an embedder whose exported graph is missing or stale,
    without loading a model: what a server checks before it starts."""
    if settings.embedder != "cbir-gan":
        return
    checkpoint = settings.model_checkpoint
    if resolve_runtime(checkpoint, settings.embed_runtime, settings.device) == "torch":
        return
    from snapmode.model.checkpoint import DEFAULT_CHECKPOINT
    from snapmode.model.export import graph_path
    from snapmode.model.runtime import check_graph

    check_graph(graph_path(checkpoint), checkpoint or DEFAULT_CHECKPOINT, dim=embedder_dim(settings))


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
    if settings.embedder == "null":
        from snapmode.model.null import NullEmbedder

        null = NullEmbedder(embedder_dim(settings))
        return null.model_id, null.dim
    raise ValueError(f"unknown embedder {settings.embedder!r}")


def embedder_dim(settings: Settings) -> int:
    """The vector dimension of the configured embedder, read from its class or checkpoint config, not its weights."""
    if settings.embedder == "backbone":
        from snapmode.model.backbone import BackboneEmbedder

        return int(BackboneEmbedder.dim)
    if settings.embedder in ("cbir-gan", "null"):  # null: vectors as long as the configured checkpoint's
        from snapmode.model.checkpoint import DEFAULT_CHECKPOINT, load_config

        return load_config(settings.model_checkpoint or DEFAULT_CHECKPOINT).z_dim
    raise ValueError(f"unknown embedder {settings.embedder!r}")
