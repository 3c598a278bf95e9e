"""Fake Debian packages in a package cache (built with dpkg-deb, so no download), and photo / drawing factories."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw


def make_deb(cache: Path, name: str, files: dict[str, Image.Image | bytes], *, version: str = "1.0-1",
             licence: str = "GPL-2+") -> Path:
    """`cache/debs/<name>_<version>_all.deb` holding `files` (paths relative to /) and a DEP-5 copyright file."""
    tree = cache.parent / "trees" / name
    for relative, content in {**files, f"usr/share/doc/{name}/copyright":
                              f"Format: x\n\nFiles: *\nCopyright: someone\nLicense: {licence}\n".encode()}.items():
        target = tree / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            content.save(target)
    (tree / "DEBIAN").mkdir(exist_ok=True)
    (tree / "DEBIAN" / "control").write_text(f"Package: {name}\nVersion: {version}\nArchitecture: all\n"
                                             "Maintainer: t <t@example.org>\nDescription: test\n")
    deb = cache / "debs" / f"{name}_{version}_all.deb"
    deb.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Znone", "--build", str(tree), str(deb)], check=True,
                   capture_output=True)
    return deb


def photo(seed: int, size: tuple[int, int] = (80, 64), *, cut_out: bool = True) -> Image.Image:
    """A photograph-like image: smooth shading plus sensor noise, on a transparent background when cut out."""
    rng = np.random.default_rng(seed)
    h, w = size[1], size[0]
    base = rng.integers(40, 200, 3)
    ramp = np.linspace(0, 50, w)[None, :, None]
    pixels = np.clip(base + ramp + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels).convert("RGBA")
    if cut_out:
        mask = Image.new("L", size, 0)
        ImageDraw.Draw(mask).ellipse((4, 4, w - 4, h - 4), fill=255)
        image.putalpha(mask)
    return image


def drawing(seed: int, size: tuple[int, int] = (80, 64)) -> Image.Image:
    """A flat-coloured drawing with a transparent background."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rectangle((6, 6, size[0] - 6, size[1] - 6), fill=tuple(int(c) for c in rng.integers(0, 256, 3)) + (255,))
    draw.ellipse((20, 16, 50, 40), fill=(255, 255, 255, 255), outline=(0, 0, 0, 255), width=3)
    return image


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"
