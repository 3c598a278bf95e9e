"""The `icons` set: one object drawn by different artists: the GNOME icon theme's rendering of an icon name is the
gallery, the Oxygen and nuoveXT2 (LXDE) renderings of the same name are the queries."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snapmode.datasets.realsets.distort import Query
from snapmode.datasets.realsets.images import open_flat, pixel_digest
from snapmode.datasets.realsets.packages import SourcePackage, fetch_deb
from snapmode.datasets.realsets.progress import Track, silent
from snapmode.datasets.realsets.writer import SetWriter, product_id

SIZE = re.compile(r"^(\d+)x\1$")
SKIPPED_CONTEXTS = {"emotes", "animations"}  # emoji-like faces are reserved material; spinner strips are not objects
MIN_SIDE = 48


@dataclass(frozen=True, slots=True)
class Theme:
    """An icon theme in a Debian package: its PNGs lie in `<icons>/<size>x<size>/<context>/<name>.png`."""

    package: str
    icons: str  # the theme folder inside the package


GALLERY = Theme("gnome-icon-theme", "usr/share/icons/gnome")
QUERIES = (Theme("oxygen-icon-theme", "usr/share/icons/oxygen/base"),
           Theme("lxde-icon-theme", "usr/share/icons/nuoveXT2"))


def largest_pngs(folder: Path) -> dict[str, Path]:
    """Each icon name's largest PNG (at least MIN_SIDE pixels) in a theme folder, emotes and animations left out."""
    best: dict[str, tuple[int, Path]] = {}
    for path in sorted(folder.glob("*/*/*.png")):
        size, context = path.parent.parent.name, path.parent.name
        match = SIZE.match(size)
        if not match or context in SKIPPED_CONTEXTS or int(match.group(1)) < MIN_SIDE or not path.exists():
            continue
        side = int(match.group(1))
        if path.stem not in best or side > best[path.stem][0]:
            best[path.stem] = (side, path)
    return {name: path for name, (_, path) in best.items()}


def drawings(paths: dict[str, Path]) -> dict[str, list[str]]:
    """Themes alias one drawing under several names: each drawing's first name, with all its names."""
    names: dict[bytes, list[str]] = {}
    for name in sorted(paths):
        names.setdefault(pixel_digest(open_flat(paths[name])), []).append(name)
    return {group[0]: group for group in names.values()}


def renderings_of(products: dict[str, list[str]], theme: dict[str, Path]) -> dict[str, Path]:
    """Each product's drawing in another theme (under the first of its names that the theme draws), left out when
    that drawing stands for two products: such a query has no single right answer."""
    found = {product: theme[next(n for n in names if n in theme)]
             for product, names in products.items() if any(n in theme for n in names)}
    digests = {product: pixel_digest(open_flat(path)) for product, path in found.items()}
    counts: dict[bytes, int] = {}
    for digest in digests.values():
        counts[digest] = counts.get(digest, 0) + 1
    return {product: found[product] for product, digest in digests.items() if counts[digest] == 1}


def build_icons(out: Path, *, cache: Path, seed: int, limit: int | None = None, track: Track = silent) -> Path:
    """Gallery: the GNOME rendering of each icon name that another theme also draws; queries: the other renderings.
    Returns the manifest."""
    gallery_package = fetch_deb(GALLERY.package, cache)
    query_packages = [fetch_deb(theme.package, cache) for theme in QUERIES]
    gallery = largest_pngs(gallery_package.root / GALLERY.icons)
    products = drawings(gallery)
    renderings = [renderings_of(products, largest_pngs(package.root / theme.icons))
                  for package, theme in zip(query_packages, QUERIES)]
    names = sorted(name for name in products if any(name in r for r in renderings))
    if limit is not None and limit < len(names):
        names = sorted(np.random.default_rng(seed).choice(names, size=limit, replace=False).tolist())
    writer = SetWriter(out)
    used = {package.name: 0 for package in [gallery_package, *query_packages]}
    for name in track(names, "writing icons"):
        queries = list(_queries(name, renderings, query_packages, used))
        used[gallery_package.name] += 1
        writer.add(product_id(name), str(gallery[name].relative_to(gallery_package.root)),
                   [open_flat(gallery[name])], queries)
    return writer.finish({
        "name": "icons", "seed": seed, "limit": limit,
        "task": "one object, two renderings: the gallery is one icon theme's drawing of an icon name, the queries "
                "are other themes' drawings of the same name",
        "gallery_theme": GALLERY.package, "query_themes": [t.package for t in QUERIES],
        "sources": [{**p.record(), "files_used": used[p.name]} for p in [gallery_package, *query_packages]]})


def _queries(name: str, renderings: list[dict[str, Path]], packages: list[SourcePackage],
             used: dict[str, int]) -> Iterable[Query]:
    for rendering, package in zip(renderings, packages):
        if name in rendering:
            used[package.name] += 1
            yield Query(package.name.removesuffix("-icon-theme"), open_flat(rendering[name]),
                        params={"source": str(rendering[name].relative_to(package.root))})
