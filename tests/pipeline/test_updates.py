"""Updates and deletions through the in-process runner and search: each version replaces the product's images and
filter fields, a tombstone removes it from both stores, an older replay changes nothing, a refused row is
dead-lettered alone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from snapmode.interfaces import SearchFilter, StoreError, VectorItem
from snapmode.pipeline.decode import DecodeLimits
from snapmode.pipeline.runner import IngestRunner
from snapmode.pipeline.steps import FetchOptions
from snapmode.queue.deadletters import read_letter_file, JsonlDeadLetter
from snapmode.records import ProductRecord, Tombstone
from snapmode.search.service import SearchService
from snapmode.stores.milvus import MilvusVectorStore
from snapmode.stores.sqlite import SqliteMetadataStore
from tests.conftest import MeanColourEmbedder, jpeg_bytes

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
COLOURS = {"red": (220, 20, 20), "blue": (20, 20, 220), "green": (20, 200, 20), "yellow": (230, 220, 20)}


@pytest.fixture
def photos(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "img"
    folder.mkdir()
    for name, rgb in COLOURS.items():
        (folder / f"{name}.jpg").write_bytes(jpeg_bytes(rgb))
    return {name: (folder / f"{name}.jpg").as_uri() for name in COLOURS}


def make_runner(tmp_path: Path, *, skip_indexed: bool = False,
                metadata: SqliteMetadataStore | None = None) -> IngestRunner:
    embedder = MeanColourEmbedder()
    return IngestRunner(embedder=embedder,
                        vectors=MilvusVectorStore(uri=str(tmp_path / "v.db"), collection="t", dim=embedder.dim),
                        metadata=metadata or SqliteMetadataStore(tmp_path / "m.sqlite"), limits=DecodeLimits(),
                        fetch=FetchOptions(allow_files=True), dead_letter=JsonlDeadLetter(tmp_path / "dead.jsonl"),
                        batch_size=2, workers=2, skip_indexed=skip_indexed)


def product(pid: str, urls: Sequence[str], *, price: float, minutes: int = 0, category: str = "dress") -> ProductRecord:
    return ProductRecord(site="t", product_id=pid, url=f"https://t.example/{pid}", title=f"Item {pid}", price=price,
                         category=category, image_urls=tuple(urls), crawled_at=T0 + timedelta(minutes=minutes))


def found(runner: IngestRunner, colour: str, where: SearchFilter | None = None) -> dict[str, float | None]:
    """Products a photo of `colour` finds, with the price each result shows."""
    search = SearchService(runner.embedder, runner.vectors, runner.metadata, DecodeLimits())
    return {r.product_key: r.price for r in search.search_image(jpeg_bytes(COLOURS[colour]), k=10, where=where)}


def shown_images(runner: IngestRunner, colour: str) -> dict[str, str]:
    """The image each product found by a photo of `colour` shows (its best match)."""
    search = SearchService(runner.embedder, runner.vectors, runner.metadata, DecodeLimits())
    return {r.product_key: r.image_url for r in search.search_image(jpeg_bytes(COLOURS[colour]), k=10)}


def images_of(runner: IngestRunner, key: str) -> set[str]:
    return runner.vectors.images_of([key]).get(key, set())


@pytest.mark.parametrize("skip_indexed", [False, True], ids=["re-embedded", "skip-indexed"])
def test_dropped_image_and_new_price_are_what_search_shows(tmp_path: Path, photos: dict[str, str],
                                                           skip_indexed: bool) -> None:
    runner = make_runner(tmp_path, skip_indexed=skip_indexed)
    v1 = product("a", [photos["red"], photos["blue"]], price=40.0)
    runner.run([v1, product("b", [photos["green"]], price=45.0)])
    assert found(runner, "blue", SearchFilter(price_max=50.0)).get("t:a") == 40.0

    v2 = product("a", [photos["red"]], price=80.0, minutes=10)  # the blue photo dropped, the price doubled
    runner.run([v2])

    assert images_of(runner, "t:a") == {ref.image_id for ref in v2.images()}
    assert runner.vectors.count() == 2
    under_50 = SearchFilter(price_max=50.0)
    assert "t:a" not in found(runner, "red", under_50)  # repriced: its kept image no longer passes the filter
    assert shown_images(runner, "blue")["t:a"] == photos["red"]  # the dropped blue image no longer matches
    assert found(runner, "red", SearchFilter(price_min=60.0)) == {"t:a": 80.0}
    assert found(runner, "green", under_50) == {"t:b": 45.0}


def test_tombstone_removes_the_product_from_both_stores(tmp_path: Path, photos: dict[str, str]) -> None:
    runner = make_runner(tmp_path)
    runner.run([product("a", [photos["red"], photos["blue"]], price=10.0),
                product("b", [photos["green"]], price=10.0)])
    report = runner.run([Tombstone(site="t", product_id="a", crawled_at=T0 + timedelta(minutes=5))])

    assert report.deleted == 1
    assert runner.metadata.get(["t:a"]) == {} and images_of(runner, "t:a") == set()
    assert set(found(runner, "red")) == {"t:b"} and runner.vectors.count() == 1
    runner.run([product("a", [photos["red"]], price=10.0, minutes=1)])  # an older replay does not bring it back
    assert runner.metadata.get(["t:a"]) == {} and images_of(runner, "t:a") == set()


def test_record_then_tombstone_in_one_run_are_applied_in_order(tmp_path: Path, photos: dict[str, str]) -> None:
    runner = make_runner(tmp_path)
    runner.run([product("a", [photos["red"], photos["blue"], photos["green"]], price=10.0),
                Tombstone(site="t", product_id="a", crawled_at=T0 + timedelta(minutes=1)),
                product("b", [photos["yellow"]], price=10.0)])
    assert runner.metadata.count() == 1 and runner.vectors.count() == 1


def test_older_replay_does_not_overwrite_a_newer_version(tmp_path: Path, photos: dict[str, str]) -> None:
    runner = make_runner(tmp_path)
    newer = product("a", [photos["red"]], price=80.0, minutes=10)
    runner.run([newer])
    runner.run([product("a", [photos["red"], photos["blue"]], price=40.0)])  # v1, replayed late

    assert runner.metadata.get(["t:a"])["t:a"].price == 80.0
    assert images_of(runner, "t:a") == {ref.image_id for ref in newer.images()}
    assert "t:a" not in found(runner, "red", SearchFilter(price_max=50.0))


class RefusingMetadata(SqliteMetadataStore):
    """Refuses any batch that holds product `refused`, as Solr refuses a malformed document with a 400."""

    refused = "t:bad"

    def upsert(self, records: Sequence[ProductRecord],
               duplicates: Mapping[str, str] | None = None) -> list[ProductRecord]:
        if any(r.key == self.refused for r in records):
            raise StoreError("Solr refused add: HTTP 400 ERROR: [doc=t:bad] Error adding field 'price'")
        return super().upsert(records, duplicates)


def test_a_refused_row_is_dead_lettered_alone(tmp_path: Path, photos: dict[str, str]) -> None:
    runner = make_runner(tmp_path, metadata=RefusingMetadata(tmp_path / "m.sqlite"))
    report = runner.run([product("ok", [photos["red"]], price=1.0), product("bad", [photos["blue"]], price=1.0),
                         product("fine", [photos["green"]], price=1.0)])

    assert report.rejected == {"store_refused": 1} and report.images_indexed == 2
    assert set(runner.metadata.get(["t:ok", "t:bad", "t:fine"])) == {"t:ok", "t:fine"}
    assert images_of(runner, "t:bad") == set() and runner.vectors.count() == 2
    [dead] = [letter.rejection for letter in read_letter_file(tmp_path / "dead.jsonl")]
    assert dead.product_key == "t:bad" and "HTTP 400" in dead.detail


class WriteLog:
    """Wraps a vector store and records the image ids of each insert and upsert."""

    def __init__(self, store: MilvusVectorStore) -> None:
        self.store, self.inserted, self.upserted = store, set[str](), set[str]()

    def insert(self, items: Sequence[VectorItem]) -> None:
        self.inserted |= {i.image_id for i in items}
        self.store.insert(items)

    def upsert(self, items: Sequence[VectorItem]) -> None:
        self.upserted |= {i.image_id for i in items}
        self.store.upsert(items)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.store, name)


def test_new_images_are_inserted_and_stored_ones_upserted_never_twice(tmp_path: Path, photos: dict[str, str]) -> None:
    runner = make_runner(tmp_path)
    store = runner.vectors
    runner.vectors = log = WriteLog(store)  # type: ignore[assignment]
    first = product("p", [photos["red"], photos["blue"]], price=10)
    runner.run([first])
    assert log.inserted == {ref.image_id for ref in first.images()} and not log.upserted
    log.inserted.clear()
    replay = product("p", [photos["red"], photos["blue"], photos["green"]], price=12, minutes=5)
    runner.run([first, replay])  # a replay of the first version with a newer one holding one more image
    [green] = [ref.image_id for ref in replay.images() if ref.url == photos["green"]]
    assert log.inserted == {green}
    assert log.upserted == {ref.image_id for ref in first.images()}
    assert store.count() == 3 and images_of(runner, "t:p") == {ref.image_id for ref in replay.images()}
