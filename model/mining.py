"""In-batch triplet mining: for every (anchor, positive) pair of the batch, pick a negative (semi-hard or hard)."""

from __future__ import annotations

from typing import Literal

import torch


def pairwise_distances(z: torch.Tensor) -> torch.Tensor:
    """Euclidean distances between the rows of z: (n, d) -> (n, n)."""
    squared = (z.unsqueeze(1) - z.unsqueeze(0)).pow(2).sum(-1)
    return squared.clamp(min=1e-12).sqrt() * (1 - torch.eye(len(z), device=z.device, dtype=z.dtype))


def mine_triplets(distances: torch.Tensor, labels: torch.Tensor, *,
                  mining: Literal["semihard", "hard"] = "semihard") -> tuple[torch.Tensor, ...]:
    """Index tensors (anchor, positive, negative) over the batch.

    Every ordered pair of distinct items with the same label is an (anchor, positive). Its negative is:
    - "hard": the closest item with another label;
    - "semihard" (FaceNet): the closest negative farther than the positive, d(a,p) < d(a,n); when none is, the farthest
      negative (the gentlest of the too-hard ones).
    Pairs with no negative in the batch are dropped.
    """
    assert distances.shape == (len(labels), len(labels)), f"distances {tuple(distances.shape)} vs {len(labels)} labels"
    d = distances.detach()
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    anchors, positives = torch.nonzero(same & ~eye, as_tuple=True)
    if len(anchors) == 0:
        empty = anchors.new_empty(0)
        return empty, empty, empty
    negative_mask = ~same[anchors]  # (pairs, n)
    d_an = d[anchors]  # (pairs, n)
    inf = torch.finfo(d.dtype).max
    closest = torch.where(negative_mask, d_an, torch.full_like(d_an, inf)).min(dim=1)
    if mining == "hard":
        negatives = closest.indices
    elif mining == "semihard":
        d_ap = d[anchors, positives].unsqueeze(1)
        outside = negative_mask & (d_an > d_ap)
        semi = torch.where(outside, d_an, torch.full_like(d_an, inf)).min(dim=1)
        farthest = torch.where(negative_mask, d_an, torch.full_like(d_an, -inf)).max(dim=1)
        negatives = torch.where(outside.any(dim=1), semi.indices, farthest.indices)
    else:
        raise ValueError(f"unknown mining {mining!r}")
    keep = negative_mask.any(dim=1)
    return anchors[keep], positives[keep], negatives[keep]
