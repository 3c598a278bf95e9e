"""Unlabeled real drawings (Open Clip Art Library, Debian's `openclipart-png`): what the CBIR-GAN's whitening is
learned from. Not a retrieval set: no drawing here has a match."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from snapmode.datasets.realsets.images import open_flat
from snapmode.datasets.realsets.packages import SourcePackage, fetch_deb
from snapmode.datasets.realsets.progress import Track, silent

PACKAGE = "openclipart-png"
DRAWINGS = Path("usr/share/openclipart/png")
MAX_PIXELS = 16_000_000  # a few drawings are posters of a hundred megapixels or more: passed over
SIDE = 256  # drawings are kept at most this large (the encoder sees 224)


def drawings(cache: Path, count: int, *, seed: int = 0,
             track: Track = silent) -> tuple[list[Image.Image], SourcePackage]:
    """`count` drawings drawn at random (seeded) from the package, flattened onto white, and the package."""
    package = fetch_deb(PACKAGE, cache)
    paths = sorted((package.root / DRAWINGS).rglob("*.png"))
    picks: list[Path] = []
    for index in np.random.default_rng(seed).permutation(len(paths)):
        if len(picks) == count:
            break
        if _small_enough(paths[index]):
            picks.append(paths[index])
    if len(picks) < count:
        raise ValueError(f"{PACKAGE} holds {len(picks)} drawings of at most {MAX_PIXELS:,} pixels, "
                         f"fewer than the {count} asked for")
    return [_small(open_flat(path)) for path in track(sorted(picks), f"reading {PACKAGE}")], package


def _small_enough(path: Path) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the size is checked right here
            with Image.open(path) as image:
                return image.width * image.height <= MAX_PIXELS
    except Image.DecompressionBombError:  # Pillow refuses to open the largest posters at all
        return False


def _small(image: Image.Image) -> Image.Image:
    image.thumbnail((SIDE, SIDE), Image.Resampling.LANCZOS)
    return image
