"""Draw one product on a transparent square: fabric inside the silhouette, then trims, buttons, pockets, logo."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from snapmode.datasets.catalog.silhouettes import LAYOUTS, Layout, Shape
from snapmode.datasets.catalog.spec import ProductSpec
from snapmode.datasets.catalog.textures import pattern_fill
from snapmode.datasets.catalog.vocabulary import RGB


def draw_product(spec: ProductSpec, size: int, rng: np.random.Generator) -> Image.Image:
    """The product as an RGBA image of `size` x `size` (alpha 0 outside it)."""
    layout = LAYOUTS[spec.category](spec.style)
    mask = Image.new("L", (size, size), 0)
    mask_draw = ImageDraw.Draw(mask)
    for shape in layout.body:
        _fill(mask_draw, shape, size, 255)

    fabric = pattern_fill(spec.pattern, size, spec.rgb, spec.second_rgb, spec.pattern_scale, spec.pattern_angle, rng)
    image = Image.fromarray(_shade(fabric))
    draw = ImageDraw.Draw(image)
    dark = _scale(spec.rgb, 0.45)
    for shape in layout.inner:
        _fill(draw, shape, size, dark)
        _fill(mask_draw, shape, size, 255)
    for shape in layout.trim:
        _fill(draw, shape, size, spec.trim_rgb)
        _fill(mask_draw, shape, size, 255)
    for points, width in layout.trim_lines:
        _line(draw, points, width, size, spec.trim_rgb)
        _line(mask_draw, points, width, size, 255)
    for points, width in layout.seams:
        _line(draw, points, width, size, _scale(spec.rgb, 0.7))
    _pockets(draw, layout, spec, size)
    _buttons(draw, layout, spec, size)
    if spec.logo and layout.logo_at:
        x, y, r = layout.logo_at
        draw_logo(draw, spec.logo, x * size, y * size, r * size, spec.logo_rgb)

    # A darker rim gives the silhouette an edge on any background.
    inside = mask.filter(ImageFilter.MinFilter(5))
    rim = np.asarray(mask, np.float32) - np.asarray(inside, np.float32)
    pixels = np.asarray(image, np.float32) * (1.0 - 0.35 * rim[..., None] / 255.0)
    product = Image.fromarray(pixels.astype(np.uint8)).convert("RGBA")
    product.putalpha(mask)
    return product


def draw_logo(draw: ImageDraw.ImageDraw, name: str, cx: float, cy: float, r: float, colour: RGB) -> None:
    """A small emblem centred at (cx, cy) with radius r."""
    box = (cx - r, cy - r, cx + r, cy + r)
    if name == "circle":
        draw.ellipse(box, fill=colour)
    elif name == "ring":
        draw.ellipse(box, outline=colour, width=max(2, int(r * 0.35)))
    elif name == "square":
        draw.rectangle((cx - r * 0.8, cy - r * 0.8, cx + r * 0.8, cy + r * 0.8), fill=colour)
    elif name == "diamond":
        draw.polygon([(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)], fill=colour)
    elif name == "triangle":
        draw.polygon([(cx, cy - r), (cx + r, cy + r * 0.8), (cx - r, cy + r * 0.8)], fill=colour)
    elif name == "star":
        angles = np.pi / 2 + np.arange(10) * np.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
        draw.polygon([(cx + rr * np.cos(a), cy - rr * np.sin(a)) for a, rr in zip(angles, radii)], fill=colour)
    elif name == "cross":
        t = r * 0.35
        draw.rectangle((cx - t, cy - r, cx + t, cy + r), fill=colour)
        draw.rectangle((cx - r, cy - t, cx + r, cy + t), fill=colour)
    elif name == "crescent":
        outer = [(cx + r * np.cos(a), cy + r * np.sin(a)) for a in np.linspace(0.35 * np.pi, 1.65 * np.pi, 24)]
        inner = [(cx + 0.45 * r + 0.75 * r * np.cos(a), cy + 0.75 * r * np.sin(a))
                 for a in np.linspace(1.6 * np.pi, 0.4 * np.pi, 24)]
        draw.polygon(outer + inner, fill=colour)
    elif name == "bolt":
        draw.polygon([(cx + r * 0.2, cy - r), (cx - r * 0.6, cy + r * 0.15), (cx - r * 0.05, cy + r * 0.15),
                      (cx - r * 0.25, cy + r), (cx + r * 0.6, cy - r * 0.15), (cx + r * 0.05, cy - r * 0.15)],
                     fill=colour)
    else:
        raise ValueError(f"unknown logo {name!r}")


def _pockets(draw: ImageDraw.ImageDraw, layout: Layout, spec: ProductSpec, size: int) -> None:
    boxes = list(layout.pocket_boxes)
    if spec.pockets > len(boxes) and boxes:  # a second pocket mirrors the first
        x0, y0, x1, y1 = boxes[0]
        boxes.append((1.0 - x1, y0, 1.0 - x0, y1))
    for x0, y0, x1, y1 in boxes[:spec.pockets]:
        box = (x0 * size, y0 * size, x1 * size, y1 * size)
        draw.rectangle(box, outline=_scale(spec.rgb, 0.6), width=max(2, size // 110))
        draw.rectangle((box[0], box[1], box[2], box[1] + (box[3] - box[1]) * 0.28), fill=spec.trim_rgb)


def _buttons(draw: ImageDraw.ImageDraw, layout: Layout, spec: ProductSpec, size: int) -> None:
    if not spec.buttons or layout.button_line is None:
        return
    x, y0, y1 = layout.button_line
    count = 1 if y0 == y1 else spec.buttons
    r = size * 0.016
    for y in np.linspace(y0, y1, count):
        cx, cy = x * size, float(y) * size
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=spec.logo_rgb, outline=_scale(spec.logo_rgb, 0.5))


def _shade(fabric: np.ndarray) -> np.ndarray:
    """Soft light from the top left, as on a studio packshot."""
    size = fabric.shape[0]
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size
    light = 1.08 - 0.18 * (xs - 0.35) ** 2 - 0.14 * (ys - 0.3) ** 2
    return np.clip(fabric.astype(np.float32) * light[..., None], 0, 255).astype(np.uint8)


def _fill(draw: ImageDraw.ImageDraw, shape: Shape, size: int, fill: RGB | int) -> None:
    kind, data = shape
    if kind == "poly":
        draw.polygon([(x * size, y * size) for x, y in data], fill=fill)
    else:
        x0, y0, x1, y1 = data
        draw.ellipse((x0 * size, y0 * size, x1 * size, y1 * size), fill=fill)


def _line(draw: ImageDraw.ImageDraw, points, width: float, size: int, fill: RGB | int) -> None:
    draw.line([(x * size, y * size) for x, y in points], fill=fill, width=max(1, round(width * size)), joint="curve")


def _scale(rgb: RGB, factor: float) -> RGB:
    return (int(rgb[0] * factor), int(rgb[1] * factor), int(rgb[2] * factor))
