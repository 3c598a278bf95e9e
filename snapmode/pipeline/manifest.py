"""Read a catalog (`catalog.jsonl`) or a plain `<product_id>/*.jpg` folder, and turn its products into records."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from snapmode.pipeline.steps import Rejection
from snapmode.records import InvalidRecord, ProductRecord

MANIFEST = "catalog.jsonl"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
DEFAULT_SITE = "sample-shop"


class CatalogProduct(BaseModel):
    """One line of `catalog.jsonl`: a product, its photos (relative to the catalog dir) and its metadata."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    product_id: str = Field(min_length=1)
    images: tuple[str, ...] = Field(min_length=1)
    title: str
    brand: str | None = None
    category: str | None = None
    colour: str | None = None
    colour_rgb: tuple[int, int, int] | None = None
    pattern: str | None = None
    material: str | None = None
    details: dict[str, object] = Field(default_factory=dict)
    price: float | None = None
    currency: str | None = None
    availability: str | None = None
    description: str | None = None

    def image_paths(self, root: Path) -> list[Path]:
        return [root / image for image in self.images]


class CatalogError(ValueError):
    """A catalog that cannot be read: missing manifest or a malformed line (the message says which)."""


def load_catalog(root: Path) -> list[CatalogProduct]:
    """Every product of the catalog in `root`, in manifest order; raises `CatalogError` on a malformed line."""
    products = []
    for number, line in _manifest_lines(Path(root)):
        try:
            products.append(CatalogProduct.model_validate_json(line))
        except ValidationError as exc:
            raise CatalogError(f"{Path(root) / MANIFEST}:{number}: {exc.errors()[0]['msg']}") from exc
    return products


def to_record(product: CatalogProduct, root: Path, site: str = DEFAULT_SITE,
              base_url: str | None = None) -> ProductRecord:
    """The `ProductRecord` of a catalog product: images as absolute file URIs; the url is the product's page on
    the shop site at `base_url` when given, else the page's file URI (or the first photo's when no site was made).
    """
    root = Path(root).resolve()
    images = tuple(path.as_uri() for path in product.image_paths(root))
    page = product_page(product.product_id)
    if base_url:
        url = base_url.rstrip("/") + "/" + page
    elif (root / "site" / page).is_file():
        url = (root / "site" / page).as_uri()
    else:
        url = images[0]
    return ProductRecord.from_dict({
        "site": site, "product_id": product.product_id, "url": url, "title": product.title,
        "brand": product.brand, "category": product.category, "colour": product.colour, "price": product.price,
        "currency": product.currency, "availability": product.availability, "description": product.description,
        "image_urls": images,
    })


def product_page(product_id: str) -> str:
    """The path of a product's page inside the shop site."""
    return f"product/{product_id}.html"


def catalog_records(root: Path, site: str = DEFAULT_SITE, base_url: str | None = None) -> Iterator:
    """A `ProductRecord` per manifest line; a malformed line becomes a `Rejection` and the rest goes on."""
    for number, line in _manifest_lines(Path(root)):
        try:
            yield to_record(CatalogProduct.model_validate_json(line), root, site, base_url)
        except (ValidationError, InvalidRecord) as exc:
            detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            yield Rejection(reason="invalid_record", detail=f"{Path(root) / MANIFEST}:{number}: {detail}",
                            payload=line[:10_000])


def folder_records(root: Path, site: str = DEFAULT_SITE) -> Iterator:
    """A `ProductRecord` per sub-folder holding images (title = folder name), and one per image lying directly in
    `root` (title = file name); an empty sub-folder is a `Rejection`."""
    root = Path(root).resolve()
    for image in _images_in(root):
        yield _folder_record(site, image.stem, image.as_uri(), [image])
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        images = _images_in(folder)
        if not images:
            yield Rejection(reason="no_images", detail=f"{folder}: no {'/'.join(IMAGE_SUFFIXES)} files",
                            product_key=f"{site}:{folder.name}")
            continue
        yield _folder_record(site, folder.name, folder.as_uri(), images)


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not p.name.startswith("."))


def _folder_record(site: str, product_id: str, url: str, images: list[Path]):  # type: ignore[no-untyped-def]
    try:
        return ProductRecord.from_dict({"site": site, "product_id": product_id, "url": url, "title": product_id,
                                        "image_urls": [p.as_uri() for p in images]})
    except InvalidRecord as exc:
        return Rejection(reason="invalid_record", detail=f"{url}: {exc}", product_key=f"{site}:{product_id}")


def _manifest_lines(root: Path) -> Iterator[tuple[int, str]]:
    manifest = root / MANIFEST
    if not manifest.is_file():
        raise CatalogError(f"no {MANIFEST} in {root}")
    with manifest.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                yield number, line
