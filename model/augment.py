"""Photo-like corruption of a batch of preprocessed images, on their device, in four steps that training composes:
`reframe` (crop/scale, shift, rotation, flip), `relight` (brightness, contrast, saturation), `blur_resolution` (a
thumbnail or far-away shot, seen at full size) and `occlude` (an object in front of the product). Hue is kept: colour
identifies products."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _uniform(n: int, low: float, high: float, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """n uniform draws, made on the CPU so a seeded generator gives the same numbers on every device."""
    return (low + (high - low) * torch.rand(n, generator=generator, device="cpu")).to(device)


def reframe(batch: torch.Tensor, generator: torch.Generator | None = None, *, strength: float = 1.0) -> torch.Tensor:
    """A randomly zoomed, shifted, rotated and mirrored copy of a (n, 3, h, w) batch in [-1, 1]."""
    n, device = batch.shape[0], batch.device
    scale = _uniform(n, 1 - 0.25 * strength, 1 + 0.1 * strength, generator, device)  # < 1 zooms in, > 1 zooms out
    angle = _uniform(n, -12 * strength, 12 * strength, generator, device) * math.pi / 180
    shift_x = _uniform(n, -0.1 * strength, 0.1 * strength, generator, device)
    shift_y = _uniform(n, -0.1 * strength, 0.1 * strength, generator, device)
    flip = torch.where(_uniform(n, 0, 1, generator, device) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack([torch.stack([cos * flip, -sin, shift_x], 1), torch.stack([sin * flip, cos, shift_y], 1)], 1)
    grid = F.affine_grid(theta.to(batch.dtype), list(batch.shape), align_corners=False)
    return F.grid_sample(batch, grid, mode="bilinear", padding_mode="border", align_corners=False)


def relight(batch: torch.Tensor, generator: torch.Generator | None = None, *, strength: float = 1.0) -> torch.Tensor:
    """The batch under other lamps: random brightness, contrast and saturation per image."""
    n, device = batch.shape[0], batch.device
    brightness = _uniform(n, -0.1 * strength, 0.1 * strength, generator, device).view(n, 1, 1, 1)
    contrast = _uniform(n, 1 - 0.15 * strength, 1 + 0.15 * strength, generator, device).view(n, 1, 1, 1)
    saturation = _uniform(n, 1 - 0.15 * strength, 1 + 0.15 * strength, generator, device).view(n, 1, 1, 1)
    grey = batch.mean(dim=1, keepdim=True)
    out = grey + (batch - grey) * saturation
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    return (mean + (out - mean) * contrast + 2 * brightness).clamp(-1, 1)


def blur_resolution(batch: torch.Tensor, generator: torch.Generator | None = None, *, probability: float = 0.0,
                    smallest: int = 24) -> torch.Tensor:
    """With `probability` per image, the picture shrunk to a side drawn between `smallest` pixels and half its own
    (area-averaged, like a thumbnail), then enlarged back to its size as inference enlarges small uploads."""
    n, device = batch.shape[0], batch.device
    if probability <= 0:
        return batch
    side = batch.shape[-1]
    chosen = _uniform(n, 0, 1, generator, device) < probability
    sides = _uniform(n, min(smallest, side / 2), side / 2, generator, device).round().int().tolist()
    out = batch.clone()
    for i in torch.nonzero(chosen).flatten().tolist():
        small = F.interpolate(batch[i:i + 1], size=(sides[i], sides[i]), mode="area")
        out[i:i + 1] = F.interpolate(small, size=batch.shape[-2:], mode="bilinear", align_corners=False)
    return out


def occlude(batch: torch.Tensor, generator: torch.Generator | None = None, *, probability: float = 0.5) -> torch.Tensor:
    """With `probability` per image, a flat-coloured ellipse or rectangle (a hand, a tag, a prop) covering 1-7% of the
    picture somewhere over its central part, where the product is."""
    n, device = batch.shape[0], batch.device
    if probability <= 0:
        return batch
    h, w = batch.shape[-2:]
    ys = torch.linspace(-1, 1, h, device=device).view(1, h, 1)
    xs = torch.linspace(-1, 1, w, device=device).view(1, 1, w)

    def draw(low: float, high: float) -> torch.Tensor:
        return _uniform(n, low, high, generator, device).view(n, 1, 1)

    cx, cy = draw(-0.5, 0.5), draw(-0.5, 0.5)
    rx, ry = draw(0.12, 0.3), draw(0.12, 0.3)
    u, v = (xs - cx) / rx, (ys - cy) / ry
    ellipse = u.pow(2) + v.pow(2) <= 1
    rectangle = (u.abs() <= 0.8) & (v.abs() <= 0.8)
    is_ellipse = draw(0, 1) < 0.5
    covered = torch.where(is_ellipse, ellipse, rectangle) & (draw(0, 1) < probability)
    colour = torch.stack([_uniform(n, -1, 1, generator, device) for _ in range(3)], 1).view(n, 3, 1, 1)
    return torch.where(covered.unsqueeze(1), colour.to(batch.dtype), batch)

