"""The CBIR-GAN losses as small pure functions: triplet, adversarial (generator and discriminator), perceptual, pixel,
relational distillation."""

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


def scaled_distances(x: torch.Tensor) -> torch.Tensor:
    """The cosine distances (as chord lengths) between every two rows of `x`, divided by their mean: (n * (n - 1),)."""
    assert x.ndim == 2 and len(x) >= 2, f"need (n >= 2, d) vectors, got {tuple(x.shape)}"
    unit = F.normalize(x.float(), dim=1)
    off_diagonal = ~torch.eye(len(x), dtype=torch.bool, device=x.device)
    distances = (2 - 2 * unit @ unit.T)[off_diagonal].clamp_min(1e-8).sqrt()
    return distances / distances.mean()


def relational_distillation_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of the student's and the teacher's in-batch distances, each scaled by its mean: 0 when
    the student's codes are arranged like the teacher's features (up to scale), whatever their dimensions."""
    assert len(student) == len(teacher), "one teacher feature per student code"
    return F.mse_loss(scaled_distances(student), scaled_distances(teacher).detach())
