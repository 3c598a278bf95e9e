"""The CBIR-GAN `Embedder` on the CPU: a checkpoint's exported graph run by ONNX Runtime or OpenVINO."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import onnx
from PIL import Image

from snapmode.interfaces import EmbedderUnavailable
from snapmode.model.checkpoint import DEFAULT_CHECKPOINT, load_config
from snapmode.model.embedder import checkpoint_model_id
from snapmode.model.export import FORMAT, graph_path
from snapmode.model.preprocess import to_pixels

Runtime = Literal["onnxruntime", "openvino"]
RUNTIMES: tuple[Runtime, ...] = ("onnxruntime", "openvino")


class GraphMismatch(EmbedderUnavailable, ValueError):
    """An exported graph that was not made from the checkpoint beside it, or is missing."""


def read_graph_props(path: Path) -> dict[str, str]:
    """The `snapmode.*` properties an exported graph was written with."""
    graph = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in graph.metadata_props if p.key.startswith("snapmode.")}


def check_graph(path: Path, checkpoint: Path, *, dim: int) -> dict[str, str]:
    """The graph's properties, once they match the checkpoint's model id and code size; else `GraphMismatch`."""
    fix = f"run `snapmode export --model {checkpoint}`"
    if not path.is_file():
        raise GraphMismatch(f"{path}: no exported graph beside the checkpoint; {fix}")
    props = read_graph_props(path)
    model_id = checkpoint_model_id(checkpoint)
    found = (props.get("snapmode.format"), props.get("snapmode.model_id"), props.get("snapmode.dim"))
    if found != (FORMAT, model_id, str(dim)):
        raise GraphMismatch(f"{path} was exported from {found[1] or 'an unknown model'} ({found[2] or '?'}-d, format "
                            f"{found[0] or '?'}), not from {model_id} ({dim}-d, format {FORMAT}); {fix}")
    return props


def _onnxruntime(path: Path, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads  # 0: one per physical core
    options.inter_op_num_threads = 1
    # its threads spin a moment for the next op before they sleep: measured, 1.2-1.3 x the images/s at batch 1 of
    # threads that sleep at once, the same at batch 32
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda pixels: session.run(None, {"pixels": pixels})[0]


def _openvino(path: Path, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    import openvino as ov

    # f32: the graph's float layers as exported (on CPUs with bf16 units OpenVINO would otherwise round them to bf16)
    config: dict[str, object] = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    request = ov.Core().compile_model(str(path), "CPU", config).create_infer_request()
    lock = threading.Lock()  # one request, which callers on several threads (the API's) take in turn

    def run(pixels: np.ndarray) -> np.ndarray:
        with lock:
            return request.infer({0: pixels})[0].copy()

    return run


class GraphEmbedder:
    """Embeds images with a checkpoint's exported encoder (int8 by default), preprocessed as in training."""

    def __init__(self, checkpoint: Path | None = None, *, runtime: Runtime = "onnxruntime", threads: int = 0,
                 batch_size: int = 32, int8: bool = True, name: str = "cbir-gan") -> None:
        self.checkpoint = Path(checkpoint) if checkpoint is not None else DEFAULT_CHECKPOINT
        config = load_config(self.checkpoint)
        self.graph = graph_path(self.checkpoint, int8=int8)
        props = check_graph(self.graph, self.checkpoint, dim=config.z_dim)
        self.name, self.dim, self.batch_size, self.runtime = name, config.z_dim, batch_size, runtime
        self.model_id = props["snapmode.model_id"]
        self.input_size = int(props["snapmode.input_size"])
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown runtime {runtime!r}: choose one of {', '.join(RUNTIMES)}")
        self._run = (_onnxruntime if runtime == "onnxruntime" else _openvino)(self.graph, threads)

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        out = np.empty((len(images), self.dim), dtype=np.float32)
        for start in range(0, len(images), self.batch_size):
            chunk = images[start:start + self.batch_size]
            codes = self._run(to_pixels(chunk, self.input_size))
            out[start:start + len(chunk)] = codes / np.linalg.norm(codes, axis=1, keepdims=True)
        return out
