"""What the Solr store adds to the metadata contract: its schema's fields, inert query syntax, a missing core."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from snapmode.interfaces import SearchFilter, StoreError, StoreUnavailable
from snapmode.records import ProductRecord
from snapmode.stores.solr import SolrMetadataStore, filter_queries, text_query
from tests.cluster import NativeCluster


def record(pid: str, **kw: object) -> ProductRecord:
    data: dict[str, object] = {"site": "shop", "product_id": pid, "url": f"https://shop.example/{pid}",
                               "title": f"Product {pid}", "image_urls": [f"https://shop.example/{pid}.jpg"]}
    data.update(kw)
    return ProductRecord.from_dict(data)


def test_text_query_keeps_only_words() -> None:
    assert text_query('Luma" OR *:* (x') == ("(title:luma^2 OR brand_text:luma^2 OR description:luma^2 OR title:luma* "
                                             "OR brand_text:luma* OR description:luma*) AND (title:or^2 OR "
                                             "brand_text:or^2 OR description:or^2 OR title:or* OR brand_text:or* OR "
                                             "description:or*) AND (title:x^2 OR brand_text:x^2 OR description:x^2 "
                                             "OR title:x* OR brand_text:x* OR description:x*)")
    assert filter_queries(SearchFilter(brand='A "B"', price_max=30)) == ['brand:"A \\"B\\""', "price:[* TO 30.0]"]


@pytest.fixture
def solr(native_cluster: NativeCluster) -> Iterator[SolrMetadataStore]:
    store = SolrMetadataStore(native_cluster.core_url)
    store._solr.delete(q="*:*", commit=True)
    yield store
    store.close()


@pytest.mark.integration
def test_documents_carry_typed_fields(solr: SolrMetadataStore, native_cluster: NativeCluster) -> None:
    solr.upsert([record("1", brand='Acme "Pro"', category="dress", colour="red", price=19.5, currency="EUR",
                        description="Linen, with pockets")])
    doc = httpx.get(f"{native_cluster.core_url}/select", params={"q": "key:\"shop:1\"", "wt": "json"}).json()
    doc = doc["response"]["docs"][0]
    assert doc["price"] == 19.5 and doc["brand"] == 'Acme "Pro"' and doc["crawled_at"].endswith("Z")
    assert [r.product_id for r in solr.query(None, SearchFilter(brand='Acme "Pro"', price_min=19.5))] == ["1"]
    assert [r.product_id for r in solr.query("pocket")] == ["1"]  # prefix of a description word
    assert solr.get(["shop:1"])["shop:1"] == record("1", brand='Acme "Pro"', category="dress", colour="red",
                                                   price=19.5, currency="EUR", description="Linen, with pockets",
                                                   crawled_at=solr.get(["shop:1"])["shop:1"].crawled_at)


@pytest.mark.integration
def test_whole_words_rank_before_prefixes(solr: SolrMetadataStore) -> None:
    solr.upsert([record("a", title="Redwood lamp"), record("b", title="Red lamp")])
    assert [r.product_id for r in solr.query("red")] == ["b", "a"]


@pytest.mark.integration
def test_missing_core_is_an_error_not_an_outage(native_cluster: NativeCluster) -> None:
    store = SolrMetadataStore(f"{native_cluster.solr_url}/no_such_core")
    with pytest.raises(StoreError, match="cluster init") as info:
        store.count()
    assert not isinstance(info.value, StoreUnavailable)
    store.close()


@pytest.mark.integration
def test_a_field_solr_refuses_is_dead_lettered_alone(solr: SolrMetadataStore) -> None:
    """A malformed value that got past the schema (built without validation here) is a 400 for its row only."""
    from snapmode.pipeline.steps import isolate_refusals, write_metadata

    bad = ProductRecord.model_construct(**{**dict(record("bad")), "price": "twelve"})
    with pytest.warns(UserWarning):  # pydantic notes the unvalidated value as it serialises the record
        refused = isolate_refusals(lambda rows: write_metadata(solr, rows), [record("ok"), bad, record("fine")],
                                   row_id=lambda r: r.key)
    assert list(refused) == ["shop:bad"] and "HTTP 400" in refused["shop:bad"] and "price" in refused["shop:bad"]
    assert sorted(solr.get(["shop:ok", "shop:bad", "shop:fine"])) == ["shop:fine", "shop:ok"]


def test_a_value_pysolr_cannot_encode_is_a_refusal_not_an_outage() -> None:
    store = SolrMetadataStore("http://127.0.0.1:9/solr/none")  # never reached: the document fails to encode first
    store._stored = lambda keys: {}  # type: ignore[method-assign]
    with pytest.raises(StoreError, match="cannot be encoded") as info:
        store.upsert([ProductRecord.model_construct(**{**dict(record("a")), "price": float("inf")})])
    assert not isinstance(info.value, StoreUnavailable)
    store.close()


@pytest.mark.integration
def test_a_deletion_racing_an_older_upsert_is_not_undone(solr: SolrMetadataStore, native_cluster: NativeCluster,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The upsert read no tombstone, then a deletion landed before its write: Solr refuses the stale write (409), the
    upsert reads again and leaves the tombstone."""
    from datetime import datetime, timedelta, timezone

    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    solr.upsert([record("a", crawled_at=t0)])
    other = SolrMetadataStore(native_cluster.core_url)
    read = solr._stored
    raced = []

    def read_then_race(keys):  # type: ignore[no-untyped-def]
        seen = read(keys)
        if not raced:
            raced.append(other.delete(["shop:a"], at=t0 + timedelta(minutes=10)))
        return seen

    monkeypatch.setattr(solr, "_stored", read_then_race)
    assert solr.upsert([record("a", crawled_at=t0 + timedelta(minutes=5), title="Late")]) == []
    assert raced == [["shop:a"]] and solr.get(["shop:a"]) == {}
    assert solr.versions(["shop:a"]) == {"shop:a": t0 + timedelta(minutes=10)}
    other.close()
