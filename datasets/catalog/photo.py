"""Photograph a drawn product: viewpoint, scale, crop, rotation, background, shadow, occlusion and lighting."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def photograph(product: Image.Image, rng: np.random.Generator, size: int = 256) -> Image.Image:
    """One RGB photo (`size` x `size`) of an RGBA product drawing, with every variation drawn from `rng`."""
    background = _background(rng, size)
    placed = _place(product, rng, size)
    alpha = np.asarray(placed.getchannel("A"), np.float32) / 255.0

    shadow = placed.getchannel("A").filter(ImageFilter.GaussianBlur(size / 40))
    offset = rng.integers(2, size // 30 + 3, 2)
    shadow_a = np.roll(np.asarray(shadow, np.float32) / 255.0, (int(offset[1]), int(offset[0])), axis=(0, 1))
    canvas = background * (1.0 - rng.uniform(0.2, 0.45) * shadow_a[..., None])

    rgb = np.asarray(placed.convert("RGB"), np.float32)
    canvas = canvas * (1.0 - alpha[..., None]) + rgb * alpha[..., None]
    if rng.random() < 0.25:
        canvas = _occlude(canvas, alpha, rng)
    canvas = _light(canvas, rng)
    photo = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
    if rng.random() < 0.25:
        photo = photo.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 0.9))))
    return photo


def _place(product: Image.Image, rng: np.random.Generator, size: int) -> Image.Image:
    """Scale, rotate, flip, tilt and shift the product onto a `size` canvas with one perspective transform."""
    x0, y0, x1, y1 = product.getchannel("A").getbbox() or (0, 0, *product.size)
    src = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], np.float64)
    centre = src.mean(axis=0)
    scale = rng.uniform(0.75, 0.94) * size / max(x1 - x0, y1 - y0)
    angle = np.deg2rad(rng.uniform(-8, 8))
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    flip = np.diag([-1.0 if rng.random() < 0.5 else 1.0, 1.0])
    shift = size / 2 + rng.uniform(-0.06, 0.06, 2) * size
    dst = (src - centre) @ (rot @ flip).T * scale + shift + rng.normal(0, 0.025 * size, (4, 2))
    coeffs = _perspective_coeffs(dst, src)
    return product.convert("RGBa").transform((size, size), Image.Transform.PERSPECTIVE, coeffs,
                                             Image.Resampling.BICUBIC).convert("RGBA")


def _perspective_coeffs(dst: np.ndarray, src: np.ndarray) -> tuple[float, ...]:
    """The 8 coefficients PIL needs to map output points `dst` back to input points `src`."""
    rows = []
    for (x, y), (u, v) in zip(dst, src):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    solution = np.linalg.solve(np.array(rows), src.reshape(8))
    return tuple(float(c) for c in solution)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A plain, gradient or textured backdrop as a float (size, size, 3) array."""
    kind = rng.choice(["plain", "gradient", "wood", "tiles", "fabric"], p=[0.45, 0.3, 0.07, 0.08, 0.1])
    light = rng.random() < 0.88
    base = rng.uniform(185, 250, 3) if light else rng.uniform(70, 140, 3)
    base = base.mean() + (base - base.mean()) * 0.3  # mostly neutral tones
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size
    if kind == "plain":
        return np.broadcast_to(base, (size, size, 3)).astype(np.float32)
    if kind == "gradient":
        other = np.clip(base + rng.uniform(-40, 40, 3), 0, 255)
        t = (xs * rng.uniform(-1, 1) + ys)[..., None]
        t = (t - t.min()) / max(1e-6, float(np.ptp(t)))
        return (base * (1 - t) + other * t).astype(np.float32)
    if kind == "wood":
        wood = np.array([196.0, 160.0, 120.0]) * rng.uniform(0.85, 1.15)
        grain = np.sin((xs * rng.uniform(20, 50) + np.sin(ys * 6) * 0.8) * np.pi)
        planks = ((ys * rng.integers(3, 7)) % 1.0 < 0.03)
        out = wood * (1.0 + 0.03 * grain[..., None]) * np.where(planks, 0.9, 1.0)[..., None]
        return out.astype(np.float32)
    if kind == "tiles":
        step = rng.uniform(0.12, 0.3)
        grout = ((xs % step) < 0.008) | ((ys % step) < 0.008)
        return np.where(grout[..., None], base * 0.9, base).astype(np.float32)
    noise = rng.normal(0, 6, (size // 4, size // 4, 1)).repeat(4, 0).repeat(4, 1)
    return np.clip(base + noise, 0, 255).astype(np.float32)


def _occlude(canvas: np.ndarray, alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Cover part of the product: a hand, a price tag or a prop."""
    size = canvas.shape[0]
    ys, xs = np.nonzero(alpha > 0.5)
    if len(xs) == 0:
        return canvas
    pick = int(rng.integers(len(xs)))
    cx, cy = float(xs[pick]), float(ys[pick])
    r = rng.uniform(0.05, 0.1) * size
    layer = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(layer)
    kind = rng.choice(["hand", "tag", "prop"])
    if kind == "hand":
        colour = np.array([224, 172, 140]) * rng.uniform(0.55, 1.1)
        draw.ellipse((cx - r, cy - r * 0.7, cx + r, cy + r * 0.7), fill=255)
        for k in range(4):
            fx = cx - r * 0.8 + k * r * 0.5
            draw.rounded_rectangle((fx, cy - r * 1.6, fx + r * 0.38, cy), radius=r * 0.18, fill=255)
    elif kind == "tag":
        colour = rng.uniform(200, 255, 3)
        draw.rectangle((cx - r * 0.5, cy - r * 0.8, cx + r * 0.5, cy + r * 0.8), fill=255)
    else:
        colour = rng.uniform(30, 230, 3)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    cover = np.asarray(layer.filter(ImageFilter.GaussianBlur(1)), np.float32)[..., None] / 255.0
    return canvas * (1.0 - cover) + colour * cover


def _light(canvas: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast and a colour cast, as from different lamps and white balances."""
    mean = canvas.mean()
    canvas = (canvas - mean) * rng.uniform(0.88, 1.12) + mean
    canvas = canvas * rng.uniform(0.88, 1.12) * rng.uniform(0.96, 1.04, 3)
    return canvas + rng.normal(0, 2.0, canvas.shape[:2] + (1,))
