"""The development sets that `snapmode dataset build NAME` knows, each a builder with a one-line description."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from snapmode.datasets.realsets.icons import build_icons
from snapmode.datasets.realsets.photos import build_photos
from snapmode.datasets.realsets.progress import Track


@dataclass(frozen=True, slots=True)
class SetKind:
    description: str
    build: Callable[..., Path]  # (out, *, cache, seed, limit, track) -> manifest path


SETS: dict[str, SetKind] = {
    "photos": SetKind("instance retrieval of real photographs of objects (Tux Paint stamps): each gallery photo is "
                      "queried by its crop, rotation, colour shift, 1/8 downscale, JPEG recompression and occlusion",
                      build_photos),
    "icons": SetKind("one object in another drawing: GNOME icons as the gallery, the same icon names drawn by the "
                     "Oxygen and nuoveXT2 themes as queries", build_icons),
}


def build(name: str, out: Path, *, cache: Path, seed: int, limit: int | None, track: Track) -> Path:
    """Build the named set into `out`; its manifest's path."""
    if name not in SETS:
        raise KeyError(f"unknown set {name!r}: choose one of {', '.join(SETS)}")
    return SETS[name].build(out, cache=cache, seed=seed, limit=limit, track=track)
