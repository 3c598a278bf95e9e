"""Each product's photos, fetched and decoded by the ingest steps into the image cache: product key -> local files."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from snapmode.datasets.image_cache import ImageCache
from snapmode.logs import get_logger
from snapmode.pipeline.decode import DecodeLimits
from snapmode.pipeline.fetch import Fetcher
from snapmode.pipeline.steps import FetchOptions, Rejection, prepare_or_reject
from snapmode.records import ImageRef, ProductRecord

log = get_logger(__name__)


@dataclass
class GalleryReport:
    """What fetching the galleries did: images fetched or found in the cache, and what was skipped, by reason."""

    records: int = 0
    products: int = 0  # with at least one usable image
    images_fetched: int = 0
    images_cached: int = 0  # found in the cache: not fetched
    skipped: Counter[str] = field(default_factory=Counter)  # refused images and malformed records, by reason
    first_detail: dict[str, str] = field(default_factory=dict)  # one example per reason
    products_without_images: int = 0

    @property
    def images(self) -> int:
        return self.images_fetched + self.images_cached

    def skip(self, rejection: Rejection) -> None:
        self.skipped[rejection.reason] += 1
        self.first_detail.setdefault(rejection.reason, rejection.detail[:300])
        log.warning("gallery.skipped", reason=rejection.reason, detail=rejection.detail[:300],
                    product=rejection.product_key, url=rejection.url)

    def as_dict(self) -> dict[str, object]:
        return {"records": self.records, "products": self.products, "images": self.images,
                "images_fetched": self.images_fetched, "images_cached": self.images_cached,
                "skipped": sum(self.skipped.values()), "skipped_by_reason": dict(self.skipped),
                "products_without_images": self.products_without_images}


@dataclass
class Galleries:
    products: dict[str, tuple[Path, ...]]  # product key -> its usable photos, in gallery order
    report: GalleryReport


def fetch_galleries(items: Iterable[ProductRecord | Rejection], cache: ImageCache, limits: DecodeLimits,
                    options: FetchOptions, *, workers: int = 8,
                    on_image: Callable[[int], None] | None = None) -> Galleries:
    """The photos of every record (the last record of a product wins), each image taken from the cache or else
    fetched, validated and decoded by `prepare_or_reject` and stored in the cache; refused images and malformed
    records are counted by reason and skipped."""
    report = GalleryReport()
    records: dict[str, ProductRecord] = {}
    for item in items:
        if isinstance(item, Rejection):
            report.skip(item)
        else:
            report.records += 1
            records[item.key] = item
    tick = on_image or (lambda n: None)
    products: dict[str, tuple[Path, ...]] = {}
    with Fetcher(options) as fetcher, \
            ThreadPoolExecutor(workers, thread_name_prefix="gallery") as pool:
        pending: dict[str, list[Path | Future[str | Rejection]]] = {}
        for key, record in records.items():
            pending[key] = [cache.lookup(ref.url) or pool.submit(_fetch, record, ref, cache, limits, fetcher)
                            for ref in record.images()]
        for key, outcomes in pending.items():
            photos = []
            for ref, outcome in zip(records[key].images(), outcomes):
                if isinstance(outcome, Path):
                    report.images_cached += 1
                    photos.append(outcome)
                elif isinstance(result := outcome.result(), Rejection):
                    report.skip(result)
                else:
                    cache.remember(ref.url, result)
                    report.images_fetched += 1
                    photos.append(cache.path_of(result))
                tick(1)
            if photos:
                products[key] = tuple(photos)
            else:
                report.products_without_images += 1
    report.products = len(products)
    return Galleries(products, report)


def _fetch(record: ProductRecord, ref: ImageRef, cache: ImageCache, limits: DecodeLimits,
           fetcher: Fetcher) -> str | Rejection:
    prepared = prepare_or_reject(record, ref, limits, fetcher)
    return prepared if isinstance(prepared, Rejection) else cache.write(prepared.image)
