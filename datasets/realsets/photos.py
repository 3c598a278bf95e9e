"""The `photos` set: real photographs of objects (Tux Paint stamps) queried by crops, rotations, colour shifts, 1/8
downscales, JPEG recompression and occluders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from snapmode.datasets.realsets.distort import DISTORTIONS, queries_of
from snapmode.datasets.realsets.images import PhotoTest, open_flat, pixel_digest
from snapmode.datasets.realsets.packages import fetch_deb
from snapmode.datasets.realsets.progress import Track, silent
from snapmode.datasets.realsets.writer import SetWriter, product_id

PACKAGE = "tuxpaint-stamps-default"
STAMPS = Path("usr/share/tuxpaint/stamps")
DRAWN = {"cartoon", "symbols", "roadsigns", "flags"}  # folders of drawings, signs and letters


def candidates(stamps: Path) -> list[Path]:
    """Stamp PNGs outside the folders of drawings, without the mirrored copies that Tux Paint ships, in name order."""
    return sorted(p for p in stamps.rglob("*.png")
                  if not DRAWN & set(p.relative_to(stamps).parts) and "_mirror" not in p.stem)


def build_photos(out: Path, *, cache: Path, seed: int, limit: int | None = None, track: Track = silent) -> Path:
    """Gallery: each photograph flattened onto white; queries: each distortion of it. Returns the manifest."""
    package = fetch_deb(PACKAGE, cache)
    stamps = package.root / STAMPS
    is_photo, seen, chosen = PhotoTest(), set(), []
    for path in track(candidates(stamps), "finding photographs"):
        image = open_flat(path)
        digest = pixel_digest(image)
        if digest not in seen and is_photo(_rgba(path)):
            seen.add(digest)
            chosen.append(path)
    if limit is not None and limit < len(chosen):
        picks = np.random.default_rng(seed).choice(len(chosen), size=limit, replace=False)
        chosen = [chosen[i] for i in sorted(picks)]
    writer = SetWriter(out)
    for index, path in enumerate(track(chosen, "writing photos")):
        relative = path.relative_to(stamps)
        image = open_flat(path)
        writer.add(product_id(str(relative.with_suffix("")).replace("/", "-")), str(STAMPS / relative), [image],
                   queries_of(image, seed, index))
    return writer.finish({
        "name": "photos", "seed": seed, "limit": limit,
        "task": "instance retrieval: each query is a distorted copy of one gallery photograph",
        "distortions": [d.__name__ for d in DISTORTIONS],
        "sources": [{**package.record(), "files_used": len(chosen)}]})


def _rgba(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGBA")
