"""Photo-like augmentation of a batch of preprocessed images, on their device: crop/scale, shift, rotation, flip, light."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def augment(batch: torch.Tensor, generator: torch.Generator | None = None, *, strength: float = 1.0) -> torch.Tensor:
    """A randomly re-framed and re-lit copy of a (n, 3, h, w) batch in [-1, 1]. Hue is kept: colour identifies products."""
    n, device = batch.shape[0], batch.device

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=generator, device="cpu").to(device)

    scale = uniform(1 - 0.25 * strength, 1 + 0.1 * strength)  # < 1 zooms in (a crop), > 1 zooms out
    angle = uniform(-12 * strength, 12 * strength) * math.pi / 180
    shift_x, shift_y = uniform(-0.1 * strength, 0.1 * strength), uniform(-0.1 * strength, 0.1 * strength)
    flip = torch.where(uniform(0, 1) < 0.5, -1.0, 1.0).to(device)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack([torch.stack([cos * flip, -sin, shift_x], 1), torch.stack([sin * flip, cos, shift_y], 1)], 1)
    grid = F.affine_grid(theta.to(batch.dtype), list(batch.shape), align_corners=False)
    out = F.grid_sample(batch, grid, mode="bilinear", padding_mode="border", align_corners=False)

    brightness = uniform(-0.1 * strength, 0.1 * strength).view(n, 1, 1, 1)
    contrast = uniform(1 - 0.15 * strength, 1 + 0.15 * strength).view(n, 1, 1, 1)
    saturation = uniform(1 - 0.15 * strength, 1 + 0.15 * strength).view(n, 1, 1, 1)
    grey = out.mean(dim=1, keepdim=True)
    out = grey + (out - grey) * saturation
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    out = mean + (out - mean) * contrast + 2 * brightness
    return out.clamp(-1, 1)
