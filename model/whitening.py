"""A shrunk PCA whitening of the encoder's pooled features, learned from unlabeled images, that the CBIR-GAN's
projection can start from: directions that vary a lot between unrelated pictures count less in z, rare ones more."""

from __future__ import annotations

import torch
from torch import nn


def fit_whitening(features: torch.Tensor, *, power: float = 0.5, shrinkage: float = 0.01,
                  keep: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, matrix) such that `(x - mean) @ matrix` whitens the rows of `features` (n, d) into `keep` dimensions.

    Each principal direction of variance v is scaled by (v + shrinkage * v_max) ** (-power / 2): power 1 is a full
    whitening, 0 only centres; the shrinkage keeps the smallest directions, mostly noise, from being blown up. With
    `keep` (at most d), only the `keep` directions of most variance are kept, largest first: a (d, keep) matrix.
    """
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"need a (n >= 2, d) matrix of features, got {tuple(features.shape)}")
    x = features.double()
    mean = x.mean(dim=0)
    centred = x - mean
    covariance = centred.T @ centred / (x.shape[0] - 1)
    variances, directions = torch.linalg.eigh(covariance)
    variances = variances.clamp(min=0)
    if variances.max() <= 0:
        raise ValueError("the features do not vary between the images: no whitening can be learned from them")
    keep = features.shape[1] if keep is None else keep
    if not 0 < keep <= features.shape[1]:
        raise ValueError(f"can keep between 1 and {features.shape[1]} directions, not {keep}")
    scale = (variances + shrinkage * variances.max()).pow(-power / 2)
    whitening = (directions * scale).flip(1)[:, :keep]  # eigh sorts ascending: largest variance first
    return mean.float(), whitening.float()


@torch.no_grad()
def set_whitening(projection: nn.Linear, mean: torch.Tensor, matrix: torch.Tensor) -> None:
    """Make `projection(x)` equal `(x - mean) @ matrix`."""
    projection.weight.copy_(matrix.T)
    projection.bias.copy_(-(mean @ matrix))
