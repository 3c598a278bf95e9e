"""Product photos from a sample catalog, a `<product_id>/*.jpg` folder or DeepFashion In-shop, and query/gallery splits
(a ready-made query/gallery set: `retrieval_set.py`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
INSHOP_PARTITION = "list_eval_partition.txt"
Dataset = Literal["auto", "catalog", "folder", "inshop", "retrieval"]
Protocol = Literal["held-out", "all-views"]


@dataclass(frozen=True, slots=True)
class Product:
    """One product and its photos (at least one)."""

    product_id: str
    images: tuple[Path, ...]


@dataclass(frozen=True, slots=True)
class RetrievalSplit:
    """Query photos and the gallery they are searched in; a hit is a gallery photo of the same product."""

    queries: list[tuple[str, Path]]
    gallery: list[tuple[str, Path]]
    self_index: list[int] | None = None  # when queries are gallery photos: each one's gallery position, never a result
    skipped: tuple[tuple[Path, str], ...] = ()  # unreadable images left out, with the reason


def read_catalog(root: Path) -> list[Product]:
    """Products of a sample catalog: `catalog.jsonl` lines with `product_id` and `images` relative to `root`."""
    products = []
    with (root / "catalog.jsonl").open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if "product_id" not in row or not row.get("images"):
                raise ValueError(f"{root / 'catalog.jsonl'}:{number}: needs product_id and images")
            products.append(Product(str(row["product_id"]), tuple(root / p for p in row["images"])))
    return products


def read_folder(root: Path) -> list[Product]:
    """Products of a folder of `<product_id>/<image>` files, in name order."""
    products = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        images = tuple(sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES))
        if images:
            products.append(Product(folder.name, images))
    return products


def read_inshop(root: Path, status: Literal["train", "query", "gallery"] = "train") -> list[Product]:
    """DeepFashion In-shop products of one evaluation status, from the official `list_eval_partition.txt`.

    The file: a count line, a header line (`image_name item_id evaluation_status`), then one image per line, with paths
    relative to `root` (the folder holding `img/`).
    """
    by_item: dict[str, list[Path]] = {}
    for image, item, item_status in _inshop_rows(root):
        if item_status == status:
            by_item.setdefault(item, []).append(root / image)
    return [Product(item, tuple(images)) for item, images in by_item.items()]


def _inshop_rows(root: Path) -> Iterable[tuple[str, str, str]]:
    path = root / INSHOP_PARTITION
    lines = path.read_text(encoding="utf-8").splitlines()
    if len(lines) < 2 or lines[1].split()[:3] != ["image_name", "item_id", "evaluation_status"]:
        raise ValueError(f"{path} is not an In-shop partition file (count line, then the header)")
    for number, line in enumerate(lines[2:], 3):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3 or fields[2] not in ("train", "query", "gallery"):
            raise ValueError(f"{path}:{number}: expected 'image_name item_id train|query|gallery'")
        yield fields[0], fields[1], fields[2]


def inshop_split(root: Path) -> RetrievalSplit:
    """The official In-shop retrieval protocol: its query images searched among its gallery images."""
    queries, gallery = [], []
    for image, item, status in _inshop_rows(root):
        if status == "query":
            queries.append((item, root / image))
        elif status == "gallery":
            gallery.append((item, root / image))
    return RetrievalSplit(queries, gallery)


def detect(path: Path) -> Dataset:
    from snapmode.model.retrieval_set import is_retrieval_folder

    if (path.is_file() and path.suffix.lower() == ".tsv") or (path.is_dir() and is_retrieval_folder(path)):
        return "retrieval"
    if (path / "catalog.jsonl").is_file():
        return "catalog"
    if (path / INSHOP_PARTITION).is_file():
        return "inshop"
    if path.is_dir():
        return "folder"
    raise FileNotFoundError(f"{path}: not a catalog, an In-shop folder, a folder of <product_id>/ images, a "
                            "gallery/ + queries/ folder or a .tsv")


def load_products(path: Path, dataset: Dataset = "auto") -> list[Product]:
    """Training products from any source (In-shop: its train partition)."""
    path = Path(path)
    kind = detect(path) if dataset == "auto" else dataset
    if kind == "retrieval":
        raise ValueError(f"{path}: a query/gallery set is for evaluation, not training")
    readers = {"catalog": read_catalog, "folder": read_folder, "inshop": read_inshop}
    products = readers[kind](path)
    if not products:
        raise ValueError(f"{path}: no products with images found")
    return products


def held_out_split(products: Iterable[Product]) -> RetrievalSplit:
    """Each product with two or more photos gives its last photo as a query and the others to the gallery; products
    with one photo go to the gallery as distractors."""
    queries, gallery = [], []
    for product in products:
        if len(product.images) >= 2:
            queries.append((product.product_id, product.images[-1]))
            gallery += [(product.product_id, p) for p in product.images[:-1]]
        else:
            gallery.append((product.product_id, product.images[0]))
    return RetrievalSplit(queries, gallery)


def all_views_split(products: Iterable[Product]) -> RetrievalSplit:
    """Every photo of a product with two or more photos queries all the other photos (leave-one-out): a 4-view
    catalog gives four times the queries of `held_out_split`, so a comparison of two models is less noisy."""
    queries, gallery, self_index = [], [], []
    for product in products:
        for photo in product.images:
            if len(product.images) >= 2:
                queries.append((product.product_id, photo))
                self_index.append(len(gallery))
            gallery.append((product.product_id, photo))
    return RetrievalSplit(queries, gallery, self_index)


def load_split(path: Path, dataset: Dataset = "auto", protocol: Protocol = "held-out") -> RetrievalSplit:
    """The evaluation split of a source: In-shop's or a retrieval set's own query/gallery; otherwise held-out views
    (each product's last photo queries the others) or all views (every photo queries all the others)."""
    if protocol not in get_args(Protocol):
        raise ValueError(f"protocol must be held-out or all-views, not {protocol!r}")
    path = Path(path)
    kind = detect(path) if dataset == "auto" else dataset
    if kind in ("inshop", "retrieval") and protocol != "held-out":
        raise ValueError(f"{path} has its own query/gallery split; the all-views protocol is for catalogs and folders")
    if kind == "inshop":
        return inshop_split(path)
    if kind == "retrieval":
        from snapmode.model.retrieval_set import load_retrieval_set

        return load_retrieval_set(path)
    products = load_products(path, kind)
    return all_views_split(products) if protocol == "all-views" else held_out_split(products)
