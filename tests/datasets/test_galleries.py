"""Galleries: every product's photos through the ingest fetch step into the cache, refusals counted by reason."""

from pathlib import Path

from PIL import Image

from snapmode.datasets.galleries import fetch_galleries
from snapmode.datasets.image_cache import ImageCache
from snapmode.pipeline.decode import DecodeLimits
from snapmode.pipeline.sources import read_records_jsonl
from snapmode.pipeline.steps import FetchOptions
from snapmode.records import ProductRecord

LIMITS, OPTIONS = DecodeLimits(max_side=64), FetchOptions(timeout_s=2, allow_files=True)


def record(product_id: str, *urls: str) -> ProductRecord:
    return ProductRecord(site="shop", product_id=product_id, url=f"https://shop.example/{product_id}",
                         title=product_id, image_urls=urls)


def photo(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (100, 80)) -> str:
    Image.new("RGB", size, colour).save(path)
    return path.as_uri()


def test_galleries_keep_gallery_order_skip_bad_images_and_come_from_the_cache_the_second_time(tmp_path):
    a0, a1 = photo(tmp_path / "a0.png", (255, 0, 0)), photo(tmp_path / "a1.jpg", (0, 255, 0))
    (tmp_path / "junk.jpg").write_bytes(b"junk")
    lines = [record("A", a0, a1).to_json(), record("B", (tmp_path / "junk.jpg").as_uri(),
                                                   (tmp_path / "gone.jpg").as_uri()).to_json(), "{not json"]
    (tmp_path / "records.jsonl").write_text("\n".join(lines) + "\n")

    with ImageCache(tmp_path / "cache") as cache:
        first = fetch_galleries(read_records_jsonl(tmp_path / "records.jsonl"), cache, LIMITS, OPTIONS, workers=2)
        again = fetch_galleries(read_records_jsonl(tmp_path / "records.jsonl"), cache, LIMITS, OPTIONS, workers=2)

    assert list(first.products) == ["shop:A"]
    photos = first.products["shop:A"]
    with Image.open(photos[0]) as red, Image.open(photos[1]) as green:
        assert red.getpixel((0, 0)) == (255, 0, 0) and green.getpixel((0, 0))[1] > 200  # gallery order
        assert max(red.size) == 64  # decoded within the ingest limits
    assert first.report.as_dict() == {
        "records": 2, "products": 1, "images": 2, "images_fetched": 2, "images_cached": 0, "skipped": 3,
        "skipped_by_reason": {"invalid_record": 1, "not_an_image": 1, "not_found": 1}, "products_without_images": 1}
    assert again.products == first.products
    assert (again.report.images_fetched, again.report.images_cached) == (0, 2)


def test_the_last_record_of_a_product_wins(tmp_path):
    old, new = photo(tmp_path / "old.png", (1, 2, 3)), photo(tmp_path / "new.png", (4, 5, 6))
    with ImageCache(tmp_path / "cache") as cache:
        galleries = fetch_galleries([record("A", old), record("A", new, old)], cache, LIMITS, OPTIONS)
    assert len(galleries.products["shop:A"]) == 2 and galleries.report.records == 2
