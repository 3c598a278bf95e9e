"""The CBIR-GAN hyper-parameters: one JSON-serialisable dataclass saved with every checkpoint."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Literal


@dataclass(frozen=True, slots=True)
class CbirGanConfig:
    # Model
    image_size: int = 128  # input photo and decoder output side, pixels
    encoder_size: int = 0  # > 0: the encoder resizes its input to this side first (ImageNet scale: 224); 0: image_size
    z_dim: int = 256  # retrieval embedding
    identity_projection: bool = False  # z starts as the encoder's GeM features (z_dim 1280): the ImageNet descriptor
    whitening: Literal["", "openclipart"] = ""  # z starts as a shrunk PCA whitening of the L2-normalised GeM features,
    # learned from unlabeled drawings of that Debian package (model/whitening.py), its z_dim directions of most
    # variance kept; "": no whitening
    whitening_images: int = 1500  # how many of those drawings the whitening is learned from
    whitening_power: float = 0.25  # each direction of variance v is scaled by (v + shrinkage * v_max) ** (-power / 2)
    whitening_shrinkage: float = 0.01
    decoder_width: int = 256  # channels of the decoder's first 4 x 4 map, halved at each upsampling
    disc_width: int = 32  # channels of the discriminator's first conv, doubled at each downsampling
    pretrained_encoder: bool = True  # start the encoder from the ImageNet EfficientNet-Lite0 weights
    reconstruct: bool = True  # False: a plain triplet network (no decoder, no discriminator)

    # Losses (weights of the generator objective) and their options
    w_triplet: float = 1.0
    w_adversarial: float = 0.025
    w_perceptual: float = 0.25
    w_pixel: float = 0.5
    margin: float = 0.2
    mining: Literal["semihard", "hard"] = "semihard"
    adversarial: Literal["nonsaturating", "hinge"] = "hinge"
    perceptual_taps: tuple[int, ...] = (2, 4, 10)  # EfficientNet-Lite0 blocks whose outputs are compared
    w_distill: float = 0.0  # relational distillation: z keeps the in-batch distances of the frozen ImageNet encoder
    distill_size: int = 224  # side at which that teacher sees the training images (its ImageNet resolution)

    # Optimisation
    epochs: int = 30
    batch_size: int = 64  # images per batch: batch_size // views_per_product products
    views_per_product: int = 2
    lr: float = 3e-4
    encoder_lr_scale: float = 0.3  # the pretrained encoder learns more slowly than the new heads
    frozen_blocks: int = 0  # > 0: the encoder's stem and first N of its 16 blocks keep their ImageNet weights
    frozen_statistics: bool = False  # every batch norm of the encoder keeps its ImageNet running statistics
    lr_disc: float = 2e-4
    weight_decay: float = 1e-4
    seed: int = 0
    val_fraction: float = 0.1  # products held out for validation
    val_every: int = 1  # epochs between validations
    augment: bool = True  # reframe and relight every training image
    occlusion: float = 0.5  # share of training images with an object in front of the product
    low_resolution: float = 0.0  # share of training images seen as a thumbnail enlarged back (24 px to half size)
    denoise: bool = True  # reconstruct the photo as it was before relighting and occlusion (a denoising generator)
    cross_view: bool = True  # reconstruct another photo of the same product, so z keeps the product, not the view

    def __post_init__(self) -> None:
        size = self.image_size
        if size < 16 or size & (size - 1):
            raise ValueError(f"image_size must be a power of two of at least 16, got {size}")
        if self.views_per_product < 2 or self.batch_size < 2 * self.views_per_product:
            raise ValueError("a batch needs at least two products of at least two views each")
        if self.mining not in ("semihard", "hard") or self.adversarial not in ("nonsaturating", "hinge"):
            raise ValueError(f"unknown mining {self.mining!r} or adversarial loss {self.adversarial!r}")
        if self.encoder_size and self.encoder_size < 32:
            raise ValueError(f"encoder_size must be 0 (the image size) or at least 32, got {self.encoder_size}")
        if self.w_distill < 0 or self.distill_size < 32:
            raise ValueError(f"w_distill must be >= 0 and distill_size >= 32, got {self.w_distill}, {self.distill_size}")
        if self.identity_projection and self.z_dim != 1280:
            raise ValueError(f"identity_projection needs z_dim 1280 (the encoder's features), got {self.z_dim}")
        if self.whitening not in ("", "openclipart"):
            raise ValueError(f"unknown whitening {self.whitening!r}: choose '' or 'openclipart'")
        if self.whitening and not 0 < self.z_dim <= 1280:
            raise ValueError(f"a whitening keeps up to the encoder's 1280 dimensions, got z_dim {self.z_dim}")
        if not 0 <= self.frozen_blocks <= 16:
            raise ValueError(f"frozen_blocks must be between 0 and 16, got {self.frozen_blocks}")

    @property
    def uses_gan(self) -> bool:
        return self.reconstruct and self.w_adversarial > 0

    @property
    def input_size(self) -> int:
        """The side at which the encoder sees a photo: the embedder preprocesses to it."""
        return self.encoder_size or self.image_size

    @property
    def architecture(self) -> tuple:
        """What decides the networks and their parameter shapes: weights load across configs that agree on it."""
        return (self.image_size, self.z_dim, self.decoder_width, self.disc_width, self.reconstruct, self.uses_gan,
                bool(self.whitening))

    def with_overrides(self, **overrides: object) -> CbirGanConfig:
        """A copy with the given fields replaced; None values are ignored."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_dict(cls, data: dict) -> CbirGanConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config fields: {sorted(unknown)}")
        if "perceptual_taps" in data:
            data = {**data, "perceptual_taps": tuple(data["perceptual_taps"])}
        return cls(**data)

    @classmethod
    def load(cls, path: Path) -> CbirGanConfig:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def triplet_baseline(config: CbirGanConfig) -> CbirGanConfig:
    """The plain triplet network: the same encoder and triplet loss, no decoder, discriminator or reconstruction."""
    return replace(config, reconstruct=False, w_adversarial=0.0, w_perceptual=0.0, w_pixel=0.0, cross_view=False)
