"""The CPU inference graph of a checkpoint: its encoder exported to ONNX, pixels in, codes out, int8-quantised with
calibration images (static quantisation, per-channel weights), written beside the weights with what it was made from."""

from __future__ import annotations

import logging
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import onnx
import torch
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process
from PIL import Image
from torch import nn

from snapmode.model.checkpoint import DEFAULT_CHECKPOINT, load_generator
from snapmode.model.embedder import checkpoint_model_id
from snapmode.model.networks import Encoder
from snapmode.model.preprocess import MEAN, STD, to_pixels

INT8_GRAPH, FP32_GRAPH = "encoder.int8.onnx", "encoder.onnx"
FORMAT = "1"  # what the graph takes and gives: uint8 (n, side, side, 3) RGB pixels -> float32 (n, z_dim) unit codes
CALIBRATION_BATCH = 16
# Kept in float32: the stem and the first three stages (blocks 0-4, at 112, 56 and 28 pixels), where int8 rounding
# is large against the signal, and the projection, whose output is the code itself. Measured on the dev sets against
# the torch codes: everything quantised, mean cosine 0.978-0.987 and 4 more icon queries wrong at rank 1; the stem and
# blocks 0-2 in float32, 0.996 and still 4; blocks 0-4, 2 (within a query of torch on photos and the synthetic catalog)
# at the same speed; blocks 0-7, none, at 30 % fewer images/s.
FLOAT_PREFIXES = ("/encoder/trunk/_conv_stem/", *(f"/encoder/trunk/_blocks.{i}/" for i in range(5)), "/encoder/project/")


class PixelEncoder(nn.Module):
    """The encoder behind the preprocessing's normalisation: uint8 (n, h, w, 3) pixels -> L2-normalised z."""

    def __init__(self, encoder: Encoder) -> None:
        super().__init__()
        self.encoder = encoder
        self.register_buffer("scale", 1.0 / (255.0 * torch.tensor(STD).view(1, 3, 1, 1)))
        self.register_buffer("shift", (torch.tensor(MEAN) / torch.tensor(STD)).view(1, 3, 1, 1))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = pixels.permute(0, 3, 1, 2).float() * self.scale - self.shift
        return self.encoder(x)


class _Calibration(CalibrationDataReader):
    """Feeds the quantiser the calibration images, a batch at a time."""

    def __init__(self, images: Sequence[Image.Image], size: int) -> None:
        self.batches: Iterator[dict[str, np.ndarray]] = (
            {"pixels": to_pixels(images[i:i + CALIBRATION_BATCH], size)}
            for i in range(0, len(images), CALIBRATION_BATCH))

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.batches, None)


@contextmanager
def _quiet() -> Iterator[None]:
    """Without the exporter's tracing warnings and the quantiser's per-weight notes (it logs through the root logger)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


def float_layers(graph: Path) -> list[str]:
    """The nodes of `graph` that stay in float32."""
    return [node.name for node in onnx.load(str(graph)).graph.node if node.name.startswith(FLOAT_PREFIXES)]


def graph_path(checkpoint: Path | None, *, int8: bool = True) -> Path:
    """Where a checkpoint's inference graph lies: beside its weights."""
    return Path(checkpoint or DEFAULT_CHECKPOINT) / (INT8_GRAPH if int8 else FP32_GRAPH)


def export_graph(checkpoint: Path | None, calibration: Sequence[Image.Image], *, int8: bool = True) -> Path:
    """Export the checkpoint's encoder (int8: quantised, its activation ranges read from `calibration`, unlabeled real
    images) and write it beside the weights. Returns the path."""
    checkpoint = Path(checkpoint or DEFAULT_CHECKPOINT)
    generator, config = load_generator(checkpoint)
    model = PixelEncoder(generator.encoder).eval()
    out = graph_path(checkpoint, int8=int8)
    if int8 and len(calibration) < CALIBRATION_BATCH:
        raise ValueError(f"int8 needs at least {CALIBRATION_BATCH} calibration images, got {len(calibration)}")
    size = config.input_size
    with tempfile.TemporaryDirectory() as tmp:
        fp32, prepared = Path(tmp) / FP32_GRAPH, Path(tmp) / "prepared.onnx"
        example = torch.zeros(2, size, size, 3, dtype=torch.uint8)
        with _quiet():
            torch.onnx.export(model, (example,), str(fp32), input_names=["pixels"], output_names=["codes"],
                              dynamic_axes={"pixels": {0: "n"}, "codes": {0: "n"}}, opset_version=17, dynamo=False)
            quant_pre_process(str(fp32), str(prepared))  # shapes folded, batch norms fused: what the quantiser wants
            if int8:
                quantize_static(str(prepared), str(prepared), _Calibration(calibration, size),
                                quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QUInt8,
                                weight_type=QuantType.QInt8, nodes_to_exclude=float_layers(prepared))
        graph = onnx.load(str(prepared))
    onnx.helper.set_model_props(graph, {"snapmode.format": FORMAT, "snapmode.model_id": checkpoint_model_id(checkpoint),
                                        "snapmode.dim": str(config.z_dim), "snapmode.input_size": str(size),
                                        "snapmode.precision": "int8" if int8 else "float32",
                                        "snapmode.calibration_images": str(len(calibration) if int8 else 0)})
    onnx.save(graph, str(out))
    return out
