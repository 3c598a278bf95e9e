"""Near-duplicates through the in-process runner and search: a re-encoded copy of a product's photo sold as another
product is marked `duplicate_of` the first one indexed, searches collapse it under its original unless asked not to,
and replays, updates, deletions and the threshold setting behave."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

from snapmode.pipeline.decode import DecodeLimits
from snapmode.pipeline.runner import IngestRunner
from snapmode.pipeline.steps import FetchOptions, delete_products
from snapmode.queue.deadletters import JsonlDeadLetter
from snapmode.records import ProductRecord, Tombstone
from snapmode.search.service import SearchService, collapse_duplicates
from snapmode.stores.milvus import MilvusVectorStore
from snapmode.stores.sqlite import SqliteMetadataStore
from tests.conftest import MeanColourEmbedder

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
SIMILARITY = 0.999  # for the mean-colour test embedder: a re-encoded copy scores > 0.9999, other colours < 0.99


def photo(rgb: tuple[int, int, int], *, size: tuple[int, int] = (96, 72), quality: int = 95) -> bytes:
    """A photo with some texture (a lighter band), so that re-encoding changes its pixels a little."""
    image = Image.new("RGB", size, rgb)
    image.paste(tuple(min(255, c + 40) for c in rgb), (0, size[1] // 3, size[0], size[1] // 2))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def reencoded(data: bytes, *, quality: int = 60, scale: float = 0.9) -> bytes:
    """The same photo saved again at another JPEG quality, slightly smaller."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


@pytest.fixture
def photos(tmp_path: Path) -> dict[str, str]:
    """file:// URLs: a red photo, its re-encoded copy, a blue and a green photo."""
    folder = tmp_path / "img"
    folder.mkdir()
    red = photo((200, 40, 40))
    files = {"red": red, "red-copy": reencoded(red), "blue": photo((40, 40, 200)), "green": photo((40, 180, 40))}
    for name, data in files.items():
        (folder / f"{name}.jpg").write_bytes(data)
    return {name: (folder / f"{name}.jpg").as_uri() for name in files}


def make_runner(tmp_path: Path, *, similarity: float = SIMILARITY, batch_size: int = 8) -> IngestRunner:
    embedder = MeanColourEmbedder()
    return IngestRunner(embedder=embedder,
                        vectors=MilvusVectorStore(uri=str(tmp_path / "v.db"), collection="t", dim=embedder.dim),
                        metadata=SqliteMetadataStore(tmp_path / "m.sqlite"), limits=DecodeLimits(),
                        fetch=FetchOptions(allow_files=True), dead_letter=JsonlDeadLetter(tmp_path / "dead.jsonl"),
                        batch_size=batch_size, workers=2, duplicate_similarity=similarity)


def product(pid: str, urls: Sequence[str], *, minutes: int = 0) -> ProductRecord:
    return ProductRecord(site="t", product_id=pid, url=f"https://t.example/{pid}", title=f"Item {pid}",
                         image_urls=tuple(urls), crawled_at=T0 + timedelta(minutes=minutes))


def marks(runner: IngestRunner, *pids: str) -> dict[str, str | None]:
    return runner.metadata.duplicate_marks([f"t:{pid}" for pid in pids])


def search(runner: IngestRunner) -> SearchService:
    return SearchService(runner.embedder, runner.vectors, runner.metadata, DecodeLimits())


def test_a_reencoded_copy_is_marked_and_another_product_is_not(tmp_path: Path, photos: dict[str, str]) -> None:
    runner = make_runner(tmp_path)
    runner.run([product("a", [photos["red"], photos["green"]])])
    runner.run([product("b", [photos["red-copy"]])])
    runner.run([product("c", [photos["blue"]])])
    assert marks(runner, "a", "b", "c") == {"t:a": None, "t:b": "t:a", "t:c": None}


def test_search_collapses_duplicates_unless_asked_not_to(tmp_path: Path, photos: dict[str, str]) -> None:
    runner = make_runner(tmp_path)
    runner.run([product("a", [photos["red"]]), product("b", [photos["red-copy"]]), product("c", [photos["blue"]])])
    query = open(photos["red"].removeprefix("file://"), "rb").read()
    service = search(runner)

    collapsed = service.search_image(query, k=10)
    assert [r.product_key for r in collapsed] == ["t:a", "t:c"]
    assert collapsed[0].duplicates == ["t:b"] and collapsed[1].duplicates == []
    everything = service.search_image(query, k=10, collapse=False)
    assert [r.product_key for r in everything] == ["t:a", "t:b", "t:c"] and everything[1].duplicates == []

    # pages count the collapsed list: the second result is c, not the hidden b
    assert [r.product_key for r in service.search_image(query, k=1, offset=1)] == ["t:c"]
    assert [r.product_key for r in service.search_image(query, k=1, offset=1, collapse=False)] == ["t:b"]
    # more like this and the hybrid ranking collapse the same way
    assert [(r.product_key, r.duplicates) for r in service.similar("t:c", k=10)] == [("t:a", ["t:b"])]
    assert [r.product_key for r in service.similar("t:c", k=10, collapse=False)] == ["t:a", "t:b"]
    hybrid = service.search_hybrid(runner.embedder.embed([Image.open(io.BytesIO(query))])[0], "item", k=10)
    assert [(r.product_key, r.duplicates) for r in hybrid] == [("t:a", ["t:b"]), ("t:c", [])]


def test_a_hybrid_search_goes_deeper_when_collapsed_duplicates_leave_its_page_short(tmp_path: Path,
                                                                                    photos: dict[str, str]) -> None:
    runner = make_runner(tmp_path)
    runner.run([product("a", [photos["red"]]), product("b", [photos["red-copy"]]), product("c", [photos["blue"]])])
    shallow = SearchService(runner.embedder, runner.vectors, runner.metadata, DecodeLimits(), oversample=1,
                            hybrid_depth=2)  # each ranking is read two products deep at first: a and its copy b
    red = runner.embedder.embed([Image.open(io.BytesIO(photo((200, 40, 40))))])[0]
    page = shallow.search_hybrid(red, None, k=2)
    assert [(r.product_key, r.duplicates) for r in page] == [("t:a", ["t:b"]), ("t:c", [])]
    assert [r.product_key for r in shallow.search_hybrid(red, "item", k=1, offset=1)] == ["t:c"]
    assert [r.product_key for r in shallow.search_hybrid(red, None, k=2, collapse=False)] == ["t:a", "t:b"]


def test_first_come_is_the_original_in_one_batch_and_replays_give_the_same_marks(tmp_path: Path,
                                                                                  photos: dict[str, str]) -> None:
    runner = make_runner(tmp_path / "ab")
    a, b = product("a", [photos["red"]]), product("b", [photos["red-copy"]])
    runner.run([a, b])  # one batch: b's vector is not stored yet when it is checked
    assert marks(runner, "a", "b") == {"t:a": None, "t:b": "t:a"}
    runner.run([b, a])  # a replay, in another order
    runner.run([b])
    runner.run([a])
    assert marks(runner, "a", "b") == {"t:a": None, "t:b": "t:a"}
    runner.run([product("a", [photos["red"]], minutes=5)])  # a new version of the original is re-checked
    assert marks(runner, "a", "b") == {"t:a": None, "t:b": "t:a"}
    runner.run([product("b", [photos["blue"]], minutes=5)])  # so is a new version of the copy, without the copy
    assert marks(runner, "a", "b") == {"t:a": None, "t:b": None}

    reversed_runner = make_runner(tmp_path / "ba")
    reversed_runner.run([b, a])
    assert marks(reversed_runner, "a", "b") == {"t:a": "t:b", "t:b": None}


def test_a_product_is_never_its_own_duplicate(tmp_path: Path, photos: dict[str, str]) -> None:
    runner = make_runner(tmp_path)
    both = product("a", [photos["red"], photos["red-copy"]])
    runner.run([both])
    runner.run([both])
    assert marks(runner, "a") == {"t:a": None}


def test_a_copy_of_a_copy_points_to_the_original(tmp_path: Path, photos: dict[str, str]) -> None:
    runner = make_runner(tmp_path)
    runner.run([product("a", [photos["red"]])])
    runner.run([product("b", [photos["red-copy"]])])
    runner.run([product("c", [photos["red"]])])
    assert marks(runner, "b", "c") == {"t:b": "t:a", "t:c": "t:a"}


def test_a_deleted_original_hides_nothing(tmp_path: Path, photos: dict[str, str]) -> None:
    runner = make_runner(tmp_path)
    runner.run([product("a", [photos["red"]]), product("b", [photos["red-copy"]])])
    delete_products(runner.vectors, runner.metadata, [Tombstone(site="t", product_id="a", crawled_at=T0)])
    query = open(photos["red"].removeprefix("file://"), "rb").read()
    assert [r.product_key for r in search(runner).search_image(query, k=10)] == ["t:b"]
    runner.run([product("c", [photos["red"]])])  # a new copy duplicates the copy that is left
    assert marks(runner, "c") == {"t:c": "t:b"}


def test_similarity_zero_marks_nothing(tmp_path: Path, photos: dict[str, str]) -> None:
    runner = make_runner(tmp_path, similarity=0.0)
    runner.run([product("a", [photos["red"]]), product("b", [photos["red-copy"]])])
    assert marks(runner, "a", "b") == {"t:a": None, "t:b": None}


def test_collapsing_follows_chains_and_keeps_ranked_order() -> None:
    ranked = ["x", "a", "orphan", "b", "c", "d"]
    known = {"x": None, "a": "d", "b": "x", "c": "b", "d": None}  # a's original d is ranked below it: a stays
    assert collapse_duplicates(ranked, known) == {"x": ["b", "c"], "a": [], "d": []}


def test_a_database_without_the_column_is_migrated_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE products (key TEXT PRIMARY KEY, site TEXT NOT NULL, product_id TEXT NOT NULL, "
                "category TEXT, brand TEXT, colour TEXT, price REAL, crawled_at TEXT NOT NULL, record TEXT NOT NULL)")
    record = product("a", ["https://t.example/a.jpg"])
    old.execute("INSERT INTO products VALUES (?, ?, ?, NULL, NULL, NULL, NULL, ?, ?)",
                (record.key, record.site, record.product_id, record.crawled_at.isoformat(), record.to_json()))
    old.commit()
    old.close()

    store = SqliteMetadataStore(path)
    assert store.get(["t:a"])["t:a"] == record and store.duplicate_marks(["t:a"]) == {"t:a": None}
    store.upsert([product("b", ["https://t.example/b.jpg"])], duplicates={"t:b": "t:a"})
    assert store.duplicate_marks(["t:a", "t:b", "t:gone"]) == {"t:a": None, "t:b": "t:a"}
    store.close()
    SqliteMetadataStore(path).close()  # opened again: nothing left to add
