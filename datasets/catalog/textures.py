"""Fabric patterns as RGB arrays: solid, stripes, dots, checks, zigzag, gradient, floral, camo, colour-block."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from snapmode.datasets.catalog.vocabulary import RGB


def pattern_fill(name: str, size: int, base: RGB, second: RGB, scale: float, angle: float,
                 rng: np.random.Generator) -> np.ndarray:
    """A `size` x `size` x 3 uint8 fabric of pattern `name`; `scale` is the period as a fraction of `size`."""
    period = max(4.0, scale * size)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    theta = np.deg2rad(angle)
    u = xs * np.cos(theta) + ys * np.sin(theta)
    v = -xs * np.sin(theta) + ys * np.cos(theta)
    a, b = np.asarray(base, np.float32), np.asarray(second, np.float32)

    if name == "solid":
        t = np.zeros_like(u)
    elif name == "stripes":
        t = ((u / period) % 1.0 < 0.45).astype(np.float32)
    elif name == "pinstripes":
        t = ((u / (period * 0.6)) % 1.0 < 0.14).astype(np.float32)
    elif name == "dots":
        cu, cv = (u / period) % 1.0 - 0.5, (v / period) % 1.0 - 0.5
        t = (np.hypot(cu, cv) < 0.28).astype(np.float32)
    elif name == "checks":
        su = ((u / period) % 1.0 < 0.5).astype(np.float32)
        sv = ((v / period) % 1.0 < 0.5).astype(np.float32)
        t = 0.5 * (su + sv)
    elif name == "zigzag":
        wave = np.abs((u / period) % 1.0 - 0.5) * period
        t = (((v + wave) / (period * 0.7)) % 1.0 < 0.4).astype(np.float32)
    elif name == "gradient":
        t = np.clip((u - u.min()) / max(1.0, float(np.ptp(u))), 0.0, 1.0)
    elif name == "floral":
        t = _floral(size, period, rng)
    elif name == "camo":
        t = _camo(size, period, rng)
    elif name == "colour-block":
        t = (v > np.median(v) + (rng.random() - 0.5) * size * 0.2).astype(np.float32)
    else:
        raise ValueError(f"unknown pattern {name!r}")

    rgb = a[None, None, :] * (1.0 - t[..., None]) + b[None, None, :] * t[..., None]
    if name == "camo":  # a third, darker shade of the base for the classic three-tone look
        rgb = np.where((t == 0.5)[..., None], a * 0.55, rgb)
    rgb += rng.normal(0.0, 3.0, (size, size, 1)).astype(np.float32)  # weave noise
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _floral(size: int, period: float, rng: np.random.Generator) -> np.ndarray:
    """Scattered five-petal flowers; 1 on petals, 0 elsewhere."""
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    count = int((size / period) ** 2 * 0.6) + 4
    for x, y, turn in rng.random((count, 3)):
        cx, cy, r = x * size, y * size, period * 0.22
        for k in range(5):
            angle = 2 * np.pi * (k / 5 + turn)
            px, py = cx + np.cos(angle) * r, cy + np.sin(angle) * r
            draw.ellipse((px - r * 0.75, py - r * 0.75, px + r * 0.75, py + r * 0.75), fill=255)
        draw.ellipse((cx - r * 0.45, cy - r * 0.45, cx + r * 0.45, cy + r * 0.45), fill=128)
    return np.asarray(canvas, np.float32) / 255.0


def _camo(size: int, period: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth blobs quantised to three levels: 0 (base), 0.5 (dark base), 1 (second colour)."""
    cells = max(3, int(size / period / 1.5))
    noise = Image.fromarray((rng.random((cells, cells)) * 255).astype(np.uint8))
    smooth = np.asarray(noise.resize((size, size), Image.Resampling.BICUBIC), np.float32) / 255.0
    return np.select([smooth < 0.4, smooth < 0.6], [0.0, 0.5], 1.0).astype(np.float32)
