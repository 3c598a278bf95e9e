"""Generate the sample catalog: product photos under `images/` and the `catalog.jsonl` manifest, deterministically."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snapmode.datasets.catalog.drawing import draw_product
from snapmode.datasets.catalog.photo import photograph
from snapmode.datasets.catalog.spec import ProductSpec, make_spec, view_rng
from snapmode.pipeline.manifest import MANIFEST

IMAGES = "images"
DRAWING_SIZE = 320


@dataclass(frozen=True, slots=True)
class GenerateOptions:
    products: int = 300
    views: int = 4
    seed: int = 7
    image_size: int = 256
    jpeg_quality: int = 90
    workers: int | None = None  # None: up to 4 processes; 1: in this process. The output is the same either way.


def render_views(spec: ProductSpec, seed: int, views: int, size: int) -> list:
    """The `views` photos of one product, as PIL images (view 0 first)."""
    drawing = draw_product(spec, DRAWING_SIZE, np.random.default_rng([seed, spec.index, 2]))
    return [photograph(drawing, view_rng(seed, spec.index, view), size) for view in range(views)]


def manifest_row(spec: ProductSpec, images: list[str]) -> dict:
    """One line of `catalog.jsonl`."""
    return {
        "product_id": spec.product_id, "images": images, "title": spec.title, "brand": spec.brand,
        "category": spec.category, "colour": spec.colour, "colour_rgb": list(spec.rgb), "pattern": spec.pattern,
        "material": spec.material, "details": spec.details, "price": spec.price, "currency": spec.currency,
        "availability": spec.availability, "description": spec.description,
    }


def _make_product(job: tuple[Path, int, GenerateOptions]) -> dict:
    out, index, options = job
    spec = make_spec(options.seed, index)
    folder = out / IMAGES / spec.product_id
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for view, photo in enumerate(render_views(spec, options.seed, options.views, options.image_size)):
        relative = f"{IMAGES}/{spec.product_id}/{view}.jpg"
        photo.save(out / relative, "JPEG", quality=options.jpeg_quality)
        paths.append(relative)
    return manifest_row(spec, paths)


def generate_catalog(out: Path, products: int = 300, views: int = 4, seed: int = 7, *,
                     options: GenerateOptions | None = None,
                     on_product: Callable[[dict], None] | None = None) -> Path:
    """Write a catalog of `products` x `views` photos into `out`; returns the manifest path.

    Each product draws from its own generator seeded by (seed, index), so the bytes depend only on the seed
    and the index, never on the number of workers. A previous catalog in `out` is replaced.
    """
    options = options or GenerateOptions(products=products, views=views, seed=seed)
    if options.products < 1 or options.views < 1:
        raise ValueError("a catalog needs at least one product and one view")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / MANIFEST
    if (out / IMAGES).exists():
        shutil.rmtree(out / IMAGES)
    manifest.unlink(missing_ok=True)

    jobs = [(out, index, options) for index in range(options.products)]
    workers = options.workers or min(4, os.cpu_count() or 1, max(1, options.products // 16))
    partial = manifest.with_suffix(".jsonl.partial")
    with partial.open("w", encoding="utf-8") as lines:
        if workers == 1:
            rows = map(_make_product, jobs)
            _write_rows(rows, lines, on_product)
        else:
            with multiprocessing.get_context("spawn").Pool(workers) as pool:
                _write_rows(pool.imap(_make_product, jobs, chunksize=4), lines, on_product)
    partial.replace(manifest)  # the manifest appears only once the catalog is complete
    return manifest


def _write_rows(rows, lines, on_product: Callable[[dict], None] | None) -> None:
    for row in rows:
        lines.write(json.dumps(row, ensure_ascii=False) + "\n")
        if on_product:
            on_product(row)
