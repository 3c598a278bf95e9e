"""Query distortions of a gallery photo (crop, rotation, colour shift, downscale, JPEG recompression, occlusion)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance

from snapmode.datasets.realsets.images import BACKGROUND

GALLERY_QUALITY = 95


@dataclass(frozen=True, slots=True)
class Query:
    """A distorted photo, the JPEG quality it is saved at, and the drawn parameters (for the manifest)."""

    kind: str
    image: Image.Image
    quality: int = GALLERY_QUALITY
    params: dict[str, float | int | str] = field(default_factory=dict)


def crop(image: Image.Image, rng: np.random.Generator) -> Query:
    """Keep 55-85 % of each side, anywhere in the photo."""
    w, h = image.size
    keep_w, keep_h = (int(round(s * rng.uniform(0.55, 0.85))) for s in (w, h))
    left, top = int(rng.integers(0, w - keep_w + 1)), int(rng.integers(0, h - keep_h + 1))
    return Query("crop", image.crop((left, top, left + keep_w, top + keep_h)),
                 params={"box": f"{left},{top},{left + keep_w},{top + keep_h}"})


def rotate(image: Image.Image, rng: np.random.Generator) -> Query:
    """Turn by 10-35 degrees either way, the corners filled with the background."""
    angle = float(rng.uniform(10, 35) * rng.choice([-1, 1]))
    turned = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=BACKGROUND)
    return Query("rotate", turned, params={"degrees": round(angle, 2)})


def colour(image: Image.Image, rng: np.random.Generator) -> Query:
    """Brightness, contrast and saturation by 0.65-1.35, and the hue turned by up to 15 degrees."""
    brightness, contrast, saturation = (float(rng.uniform(0.65, 1.35)) for _ in range(3))
    hue = int(rng.integers(-11, 12))  # of 256 steps
    shifted = ImageEnhance.Color(ImageEnhance.Contrast(ImageEnhance.Brightness(image).enhance(brightness))
                                 .enhance(contrast)).enhance(saturation)
    h, s, v = shifted.convert("HSV").split()
    h = h.point(lambda x: (x + hue) % 256)
    return Query("colour", Image.merge("HSV", (h, s, v)).convert("RGB"),
                 params={"brightness": round(brightness, 3), "contrast": round(contrast, 3),
                         "saturation": round(saturation, 3), "hue_steps": hue})


def downscale(image: Image.Image, rng: np.random.Generator, *, factor: int = 8, min_side: int = 12) -> Query:
    """An eighth of the size (no smaller than `min_side`), as a thumbnail or a far-away shot."""
    w, h = image.size
    size = (max(min_side, w // factor), max(min_side, h // factor))
    return Query("downscale", image.resize(size, Image.Resampling.BOX), params={"size": f"{size[0]}x{size[1]}"})


def jpeg(image: Image.Image, rng: np.random.Generator) -> Query:
    """Recompressed at JPEG quality 35-70."""
    quality = int(rng.integers(35, 71))
    return Query("jpeg", image.copy(), quality=quality, params={"quality": quality})


def occlude(image: Image.Image, rng: np.random.Generator) -> Query:
    """A flat-coloured ellipse or rectangle over 10-25 % of the photo, like a hand, a tag or a prop."""
    w, h = image.size
    share = float(rng.uniform(0.10, 0.25))
    aspect = float(rng.uniform(0.5, 2.0))
    ow, oh = max(1, int(w * np.sqrt(share * aspect))), max(1, int(h * np.sqrt(share / aspect)))
    ow, oh = min(ow, w), min(oh, h)
    left, top = int(rng.integers(0, w - ow + 1)), int(rng.integers(0, h - oh + 1))
    fill = tuple(int(c) for c in rng.integers(0, 256, 3))
    shape = str(rng.choice(["ellipse", "rectangle"]))
    covered = image.copy()
    getattr(ImageDraw.Draw(covered), shape)((left, top, left + ow - 1, top + oh - 1), fill=fill)
    return Query("occlusion", covered, params={"shape": shape, "share": round(share, 3),
                                               "box": f"{left},{top},{left + ow},{top + oh}"})


Distortion = Callable[[Image.Image, np.random.Generator], Query]
DISTORTIONS: tuple[Distortion, ...] = (crop, rotate, colour, downscale, jpeg, occlude)


def queries_of(image: Image.Image, seed: int, index: int) -> list[Query]:
    """Every distortion of the `index`-th photo of a set, drawn from the random stream `(seed, index)`."""
    rng = np.random.default_rng([seed, index])
    return [distortion(image, rng) for distortion in DISTORTIONS]
