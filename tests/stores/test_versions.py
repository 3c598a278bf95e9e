"""Contract tests of versions and deletions: an older replay never replaces a newer version or a deletion."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from snapmode.interfaces import MetadataStore, SearchFilter, VectorStore
from tests.stores.test_contracts import item, record

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def test_older_replay_does_not_replace_newer_version(metadata_store: MetadataStore) -> None:
    newer = record("a", price=80.0, crawled_at=T0 + timedelta(hours=1))
    assert metadata_store.upsert([newer]) == [newer]
    assert metadata_store.upsert([record("a", price=40.0, crawled_at=T0)]) == []
    assert metadata_store.get(["shop:a"])["shop:a"].price == 80.0
    assert metadata_store.versions(["shop:a", "shop:none"]) == {"shop:a": T0 + timedelta(hours=1)}
    assert metadata_store.query(where=SearchFilter(price_max=50.0)) == []


def test_same_version_replay_is_taken_and_newest_in_a_batch_wins(metadata_store: MetadataStore) -> None:
    old, new = record("a", price=1.0, crawled_at=T0), record("a", price=2.0, crawled_at=T0 + timedelta(seconds=1))
    assert [r.price for r in metadata_store.upsert([new, old])] == [2.0]
    assert [r.price for r in metadata_store.upsert([new])] == [2.0]
    assert metadata_store.get(["shop:a"])["shop:a"].price == 2.0


def test_delete_keeps_a_tombstone_that_refuses_older_versions(metadata_store: MetadataStore) -> None:
    metadata_store.upsert([record("a", crawled_at=T0), record("b", crawled_at=T0)])
    assert metadata_store.delete(["shop:a"], at=T0 + timedelta(minutes=5)) == ["shop:a"]
    assert metadata_store.get(["shop:a", "shop:b"]).keys() == {"shop:b"}
    assert metadata_store.count() == 1
    assert [r.key for r in metadata_store.query()] == ["shop:b"]
    assert metadata_store.facets().total == 1
    assert metadata_store.upsert([record("a", crawled_at=T0 + timedelta(minutes=1))]) == []  # replayed from before
    assert metadata_store.get(["shop:a"]) == {}
    assert metadata_store.versions(["shop:a"]) == {"shop:a": T0 + timedelta(minutes=5)}
    back = record("a", title="Back in stock", crawled_at=T0 + timedelta(minutes=9))
    assert metadata_store.upsert([back]) == [back]  # listed again, later
    assert metadata_store.get(["shop:a"])["shop:a"].title == "Back in stock"


def test_delete_leaves_a_newer_version_alone(metadata_store: MetadataStore) -> None:
    metadata_store.upsert([record("a", crawled_at=T0 + timedelta(hours=1))])
    assert metadata_store.delete(["shop:a"], at=T0) == []
    assert metadata_store.get(["shop:a"]).keys() == {"shop:a"}


def test_vector_images_of_products(vector_store: VectorStore) -> None:
    vector_store.upsert([item(i) for i in range(5)])  # products shop:0 (0, 1), shop:1 (2, 3), shop:2 (4)
    assert vector_store.images_of(["shop:0", "shop:2", "shop:9"]) == {"shop:0": {f"{0:032x}", f"{1:032x}"},
                                                                       "shop:2": {f"{4:032x}"}}
    assert vector_store.images_of([]) == {}
