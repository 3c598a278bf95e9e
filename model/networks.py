"""The CBIR-GAN networks: encoder (image -> z), decoder (z -> image), generator (both) and discriminator."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from efficientnet_lite_pytorch import EfficientNet
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from snapmode.model.backbone import BackboneFeatures, gem, load_efficientnet_lite0
from snapmode.model.config import CbirGanConfig

HEAD_CHANNELS = 1280  # EfficientNet-Lite0's last feature map


class Encoder(nn.Module):
    """EfficientNet-Lite0 trunk -> GeM pooling -> linear projection -> L2-normalised z."""

    def __init__(self, *, z_dim: int, pretrained: bool = True, frozen_blocks: int = 0, input_size: int = 0,
                 identity_projection: bool = False, frozen_statistics: bool = False, unit_pooled: bool = False) -> None:
        super().__init__()
        self.unit_pooled = unit_pooled  # L2-normalise the pooled features before the projection (a whitening's input)
        self.input_size = input_size  # > 0: inputs are resized (bilinear) to this side before the trunk
        net = load_efficientnet_lite0() if pretrained else EfficientNet.from_name("efficientnet-lite0")
        net._fc = nn.Identity()  # the ImageNet classifier is not part of the encoder
        self.trunk = BackboneFeatures(net=net, taps=())
        self.project = nn.Linear(HEAD_CHANNELS, z_dim)
        if identity_projection:  # z starts as the pooled features themselves
            assert z_dim == HEAD_CHANNELS, f"an identity projection keeps {HEAD_CHANNELS} dimensions, not {z_dim}"
            with torch.no_grad():
                self.project.weight.copy_(torch.eye(HEAD_CHANNELS))
                self.project.bias.zero_()
        # a plain list, not a ModuleList: the frozen layers stay in the state dict under their trunk names only
        self.frozen: list[nn.Module] = [net._conv_stem, net._bn0, *net._blocks[:frozen_blocks]] if frozen_blocks else []
        for module in self.frozen:
            module.requires_grad_(False)
        # the running statistics of real photos, which batches of synthetic ones would otherwise replace
        self.fixed_norms = [m for m in self.trunk.modules() if isinstance(m, nn.BatchNorm2d)] if frozen_statistics else []

    def train(self, mode: bool = True) -> Encoder:
        """Train mode everywhere except the frozen stem and blocks and the fixed batch norms, whose statistics stay as
        they were."""
        super().train(mode)
        for module in [*self.frozen, *self.fixed_norms]:
            module.eval()
        return self

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The GeM-pooled head features that the projection turns into z."""
        if self.input_size and x.shape[-1] != self.input_size:
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        pooled = gem(self.trunk(x)[-1].float())
        return F.normalize(pooled, dim=1) if self.unit_pooled else pooled

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.pooled(x)
        return F.normalize(self.project(pooled.to(self.project.weight.dtype)).float(), dim=1)


def up_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                         nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, inplace=True))


class Decoder(nn.Module):
    """z -> a 4 x 4 map -> repeated 2x upsampling -> an RGB image in [-1, 1] of side `image_size`."""

    def __init__(self, *, z_dim: int, image_size: int, width: int) -> None:
        super().__init__()
        steps = int(math.log2(image_size // 4))
        assert 4 * 2 ** steps == image_size, f"image_size must be 4 * 2^k, got {image_size}"
        self.width = width
        self.start = nn.Linear(z_dim, width * 16)
        channels = [max(32, width // 2 ** i) for i in range(steps + 1)]
        self.blocks = nn.Sequential(*(up_block(a, b) for a, b in zip(channels, channels[1:])))
        self.to_rgb = nn.Conv2d(channels[-1], 3, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.start(z), 0.2).view(z.shape[0], self.width, 4, 4)
        return torch.tanh(self.to_rgb(self.blocks(x)))


class Generator(nn.Module):
    """Encoder and decoder: image -> (z, reconstruction). The anchor, positive and negative branches all use it."""

    def __init__(self, config: CbirGanConfig) -> None:
        super().__init__()
        self.encoder = Encoder(z_dim=config.z_dim, pretrained=config.pretrained_encoder,
                               frozen_blocks=config.frozen_blocks, input_size=config.encoder_size,
                               identity_projection=config.identity_projection,
                               frozen_statistics=config.frozen_statistics,
                               unit_pooled=bool(config.whitening))
        self.decoder = (Decoder(z_dim=config.z_dim, image_size=config.image_size, width=config.decoder_width)
                        if config.reconstruct else None)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        z = self.encoder(x)
        return z, (self.decoder(z) if self.decoder is not None else None)


class Discriminator(nn.Module):
    """Real product photo vs reconstruction: strided spectral-norm convolutions down to 4 x 4, then one logit."""

    def __init__(self, *, image_size: int, width: int) -> None:
        super().__init__()
        steps = int(math.log2(image_size // 4))
        layers: list[nn.Module] = []
        c_in = 3
        for i in range(steps):
            c_out = min(width * 2 ** i, 256)
            layers += [spectral_norm(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1)), nn.LeakyReLU(0.2, inplace=True)]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.logit = spectral_norm(nn.Linear(c_in * 16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logit(self.features(x).flatten(1)).squeeze(1)
