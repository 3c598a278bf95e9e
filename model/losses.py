"""The CBIR-GAN losses as small pure functions: triplet, adversarial (generator and discriminator), perceptual, pixel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F

from snapmode.model.mining import mine_triplets, pairwise_distances

Adversarial = Literal["nonsaturating", "hinge"]


def triplet_loss(z: torch.Tensor, labels: torch.Tensor, *, margin: float,
                 mining: Literal["semihard", "hard"] = "semihard") -> tuple[torch.Tensor, int]:
    """Mean of max(0, d(a,p) - d(a,n) + margin) over the mined triplets, and how many triplets were active (> 0)."""
    distances = pairwise_distances(z.float())
    a, p, n = mine_triplets(distances, labels, mining=mining)
    if len(a) == 0:
        return z.sum() * 0.0, 0
    losses = F.relu(distances[a, p] - distances[a, n] + margin)
    return losses.mean(), int((losses > 0).sum())


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, kind: Adversarial) -> torch.Tensor:
    """The discriminator's loss: real photos high, reconstructions low."""
    if kind == "hinge":
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_adversarial_loss(fake_logits: torch.Tensor, kind: Adversarial) -> torch.Tensor:
    """The generator's adversarial loss: make the discriminator score reconstructions as real."""
    if kind == "hinge":
        return -fake_logits.mean()
    return F.softplus(-fake_logits).mean()


def perceptual_loss(real_maps: Sequence[torch.Tensor], fake_maps: Sequence[torch.Tensor]) -> torch.Tensor:
    """Squared distance of channel-normalised feature maps (as in LPIPS), averaged over positions and tapped layers."""
    assert len(real_maps) == len(fake_maps) and real_maps, "need the same, non-empty list of maps for both"
    terms = [(F.normalize(f.float(), dim=1) - F.normalize(r.float(), dim=1)).pow(2).sum(1).mean()
             for r, f in zip(real_maps, fake_maps)]
    return torch.stack(terms).mean()


def pixel_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """L1 distance between the image and its reconstruction."""
    return F.l1_loss(fake.float(), real.float())
