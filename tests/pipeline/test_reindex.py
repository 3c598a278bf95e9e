"""`reindex`: a store made by one model is refused to another, then rebuilt for it and swapped in at once, while
searches answer from the old index; a run stopped midway resumes. Embedded (milvus-lite and SQLite), and on the
Milvus server and Solr (`integration`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from structlog.testing import capture_logs

from snapmode.config import Settings
from snapmode.datasets.catalog.generate import generate_catalog
from snapmode.interfaces import Embedder, IndexMismatch, SearchFilter
from snapmode.pipeline.reindex import reindex
from snapmode.pipeline.sources import iter_records
from snapmode.platform import Platform
from snapmode.records import ProductRecord
from snapmode.stores.collections import Collections
from snapmode.stores.factory import build_stores
from snapmode.stores.milvus import MilvusVectorStore
from tests.cluster import NativeCluster
from tests.conftest import MeanColourEmbedder

SITE = "sample-shop"
PRODUCTS, VIEWS = 5, 2


class ChannelEmbedder:
    """The "new model": each channel's mean and spread, 6-d."""

    name = "channels"
    model_id = "channels:v2"
    dim = 6

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        rows = []
        for image in images:
            pixels = np.asarray(image.convert("RGB"), dtype=np.float32).reshape(-1, 3) / 255.0
            v = np.concatenate([pixels.mean(0), pixels.std(0)]) + 0.01
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows).astype(np.float32)


class Watched:
    """An embedder that calls `before()` ahead of each forward pass (a search between batches), and raises once
    it made `fail_after` passes (a reindex killed midway)."""

    def __init__(self, inner: Embedder, before: Callable[[], None] = lambda: None,
                 fail_after: int | None = None) -> None:
        self.inner, self.before, self.fail_after, self.passes = inner, before, fail_after, 0
        self.name, self.dim, self.model_id = inner.name, inner.dim, inner.model_id

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        if self.fail_after is not None and self.passes >= self.fail_after:
            raise KeyboardInterrupt("stopped midway")
        self.passes += 1
        self.before()
        return self.inner.embed(images)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("catalog")
    generate_catalog(root, products=PRODUCTS, views=VIEWS, seed=5)
    return root


def records_of(catalog: Path) -> list[ProductRecord]:
    return [r for r in iter_records(catalog, site=SITE) if isinstance(r, ProductRecord)]


def platform_of(settings: Settings, embedder: Embedder) -> Platform:
    """The stores opened for `embedder`, as `Platform.build` opens them for the configured one."""
    vectors, metadata = build_stores(settings, embedder.dim, model_id=embedder.model_id)
    return Platform(settings=settings, embedder=embedder, vectors=vectors, metadata=metadata)


def ingest(settings: Settings, catalog: Path, embedder: Embedder) -> None:
    platform = platform_of(settings, embedder)
    try:
        report = platform.runner().run(records_of(catalog))
        assert report.images_indexed == PRODUCTS * VIEWS, report.as_dict()
    finally:
        platform.close()


def first_hits(platform: Platform, catalog: Path) -> dict[str, str]:
    """Each product's first photo -> the key of the product found first for it."""
    return {r.key: platform.search.search_image((catalog / "images" / r.product_id / "0.jpg").read_bytes(), k=1,
                                                collapse=False)[0].product_key for r in records_of(catalog)}


@pytest.fixture
def indexed(settings: Settings, catalog: Path) -> Settings:
    """A data dir whose catalog was indexed by the "old model"; two images a batch, so a reindex takes several."""
    settings = settings.model_copy(update={"embed_batch_size": 2, "fetch_workers": 2, "duplicate_similarity": 0.0})
    ingest(settings, catalog, MeanColourEmbedder())
    return settings


def test_an_index_of_another_model_is_refused_in_one_line(indexed: Settings) -> None:
    with pytest.raises(IndexMismatch) as refused:
        platform_of(indexed, ChannelEmbedder())
    line = str(refused.value)
    assert "\n" not in line and "snapmode reindex" in line
    assert "made by mean-colour (8-d), the embedder is channels:v2 (6-d)" in line

    class Retrained(MeanColourEmbedder):
        model_id = "mean-colour:retrained"  # the same dimension, other weights

    with pytest.raises(IndexMismatch, match="made by mean-colour .* the embedder is mean-colour:retrained"):
        platform_of(indexed, Retrained())
    platform_of(indexed, MeanColourEmbedder()).close()  # its own model opens it


def test_a_collection_from_before_model_ids(settings: Settings) -> None:
    """Kept when the dimension matches (with a warning), refused when it does not; labelled while still empty."""
    legacy = MilvusVectorStore(uri=str(settings.data_dir / "v.db"), collection="old", dim=8)  # no model id: unlabelled
    legacy.upsert([item for item in [_item("a")]])
    legacy.close()
    with capture_logs() as logs:
        MilvusVectorStore(uri=str(settings.data_dir / "v.db"), collection="old", dim=8, model_id="m:1").close()
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["milvus.model_unrecorded"]
    with pytest.raises(IndexMismatch, match=r"made by an unrecorded model \(8-d\), the embedder is m:2 \(6-d\)"):
        MilvusVectorStore(uri=str(settings.data_dir / "v.db"), collection="old", dim=6, model_id="m:2")

    MilvusVectorStore(uri=str(settings.data_dir / "v.db"), collection="empty", dim=8).close()  # `cluster init`
    MilvusVectorStore(uri=str(settings.data_dir / "v.db"), collection="empty", dim=8, model_id="m:1").close()
    with pytest.raises(IndexMismatch, match="made by m:1"):
        MilvusVectorStore(uri=str(settings.data_dir / "v.db"), collection="empty", dim=8, model_id="m:2")


def _item(key: str):  # type: ignore[no-untyped-def]
    from snapmode.interfaces import VectorItem

    return VectorItem(image_id=f"{key}-0", product_key=f"shop:{key}", vector=np.ones(8, np.float32) / np.sqrt(8))


def test_reindex_swaps_the_new_model_in_while_the_api_answers_from_the_old(indexed: Settings, catalog: Path) -> None:
    from snapmode.services.app import create_app

    photo = (catalog / "images" / "SM00003" / "0.jpg").read_bytes()
    answers: list[tuple[int, str]] = []
    with TestClient(create_app(indexed, embedder=MeanColourEmbedder())) as api:  # serves: shares its engine

        def search() -> None:
            body = api.post("/search", files={"file": ("q.jpg", photo, "image/jpeg")}, data={"k": "1"}).json()
            answers.append((len(body["results"]), body["results"][0]["product_id"]))

        report = reindex(indexed, Watched(ChannelEmbedder(), before=search))
        other = (catalog / "images" / "SM00004" / "0.jpg").read_bytes()  # not in the API's result cache
        after_swap = api.post("/search", files={"file": ("q.jpg", other, "image/jpeg")}, data={"k": "1"})

    assert answers == [(1, "SM00003")] * (PRODUCTS * VIEWS // 2)  # one search before each batch, each answered
    assert after_swap.status_code == 500  # the old model's process refuses the new index: restart it
    assert (report.previous, report.collection, report.dropped) == ("products__0", "products__1", True)
    assert (report.products, report.images_indexed, report.images_kept, report.removed) == (PRODUCTS, 10, 0, 0)

    with pytest.raises(IndexMismatch, match=r"products \(collection products__1\) was made by channels:v2"):
        platform_of(indexed, MeanColourEmbedder())
    platform = platform_of(indexed, ChannelEmbedder())
    try:
        assert isinstance(platform.vectors, MilvusVectorStore)
        assert Collections(platform.vectors.client, "products").physicals() == ["products__1"]
        assert first_hits(platform, catalog) == {r.key: r.key for r in records_of(catalog)}
        records = records_of(catalog)
        ingested = {ref.image_id for r in records for ref in r.images()}  # the ids an ingest gives
        assert platform.vectors.existing(sorted(ingested)) == ingested and platform.vectors.count() == len(ingested)
        shorts = {r.key for r in records if r.category == records[0].category}
        query = ChannelEmbedder().embed([Image.open(catalog / "images" / records[0].product_id / "0.jpg")])
        hits = platform.vectors.search(query, k=10, where=SearchFilter(category=records[0].category))[0]
        assert {h.product_key for h in hits} == shorts  # the filter fields came along
    finally:
        platform.close()


def test_a_reindex_stopped_midway_leaves_the_old_index_serving_and_resumes(indexed: Settings, catalog: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        reindex(indexed, Watched(ChannelEmbedder(), fail_after=2))
    old = platform_of(indexed, MeanColourEmbedder())  # still the index, and still answering
    try:
        assert first_hits(old, catalog) == {r.key: r.key for r in records_of(catalog)}
        assert isinstance(old.vectors, MilvusVectorStore) and old.vectors.collection == "products__0"
    finally:
        old.close()

    report = reindex(indexed, Watched(ChannelEmbedder()))

    assert report.resumed and report.collection == "products__1"
    assert (report.images_kept, report.images_indexed) == (4, PRODUCTS * VIEWS - 4)  # two batches were written
    platform = platform_of(indexed, ChannelEmbedder())
    try:
        assert first_hits(platform, catalog) == {r.key: r.key for r in records_of(catalog)}
    finally:
        platform.close()


def test_back_to_a_kept_collection_and_products_deleted_meanwhile(indexed: Settings, catalog: Path) -> None:
    """`--keep-old` keeps the old collection; a reindex back to its model completes it (the products deleted since
    leave it) instead of embedding everything again; with nothing to do, nothing is done unless forced."""
    first = reindex(indexed, ChannelEmbedder(), keep_old=True)
    assert (first.previous, first.dropped, first.others) == ("products__0", False, ["products__0"])
    gone = records_of(catalog)[0].key
    platform = platform_of(indexed, ChannelEmbedder())
    platform.metadata.delete([gone])
    platform.close()

    back = reindex(indexed, MeanColourEmbedder())

    assert (back.collection, back.resumed, back.images_indexed) == ("products__0", True, 0)
    assert (back.images_kept, back.removed, back.products) == ((PRODUCTS - 1) * VIEWS, 1, PRODUCTS - 1)
    assert back.dropped and back.others == []
    platform = platform_of(indexed, MeanColourEmbedder())
    try:
        assert platform.vectors.images_of([gone]) == {} and platform.vectors.count() == (PRODUCTS - 1) * VIEWS
    finally:
        platform.close()
    assert reindex(indexed, MeanColourEmbedder()).up_to_date
    assert reindex(indexed, MeanColourEmbedder(), force=True).collection == "products__1"


def test_an_image_that_cannot_be_read_is_dead_lettered_and_counted(indexed: Settings, catalog: Path,
                                                                   tmp_path: Path) -> None:
    record = records_of(catalog)[1]
    moved = tmp_path / "moved"
    moved.mkdir()
    photo = catalog / "images" / record.product_id / "1.jpg"
    photo.rename(moved / "1.jpg")
    try:
        report = reindex(indexed, ChannelEmbedder())
    finally:
        (moved / "1.jpg").rename(photo)

    assert sum(report.rejected.values()) == 1 and report.images_indexed == PRODUCTS * VIEWS - 1
    letters = [json.loads(line) for line in (indexed.data_dir / "dead-letter.jsonl").read_text().splitlines()]
    assert [(letter["product_key"], letter["image_id"]) for letter in letters] == \
        [(record.key, record.images()[1].image_id)]


@pytest.mark.integration
def test_reindex_on_the_milvus_server_and_solr(native_cluster: NativeCluster, catalog: Path,
                                               tmp_path: Path) -> None:
    from snapmode.stores.solr import SolrMetadataStore

    name = f"reindex_{uuid.uuid4().hex[:12]}"
    settings = Settings(data_dir=tmp_path / "data", milvus_uri=native_cluster.milvus_uri,  # type: ignore[call-arg]
                        solr_url=native_cluster.core_url, collection=name, file_roots=[catalog],
                        embed_batch_size=4, duplicate_similarity=0.0, _env_file=None)
    SolrMetadataStore(native_cluster.core_url)._solr.delete(q="*:*", commit=True)  # an empty core
    ingest(settings, catalog, MeanColourEmbedder())
    with pytest.raises(IndexMismatch, match=f"the vector index {name} was made by mean-colour"):
        platform_of(settings, ChannelEmbedder())
    old = platform_of(settings, MeanColourEmbedder())
    answers: list[dict[str, str]] = []
    try:
        report = reindex(settings, Watched(ChannelEmbedder(), before=lambda: answers.append(first_hits(old, catalog))))
    finally:
        old.close()

    assert answers and all(a == {r.key: r.key for r in records_of(catalog)} for a in answers)
    assert (report.previous, report.collection, report.dropped) == (f"{name}__0", f"{name}__1", True)
    assert (report.products, report.images_indexed) == (PRODUCTS, PRODUCTS * VIEWS)
    platform = platform_of(settings, ChannelEmbedder())
    client = platform.vectors.client  # type: ignore[attr-defined]
    try:
        assert first_hits(platform, catalog) == {r.key: r.key for r in records_of(catalog)}
        assert platform.metadata.count() == PRODUCTS  # Solr was only read
        assert client.describe_alias(name)["collection_name"] == f"{name}__1"
        assert Collections(client, name).physicals() == [f"{name}__1"]
        back = reindex(settings, MeanColourEmbedder(), keep_old=True)  # the alias moves (`alter_alias`)
        assert (back.previous, back.collection, back.others) == (f"{name}__1", f"{name}__2", [f"{name}__1"])
        assert client.describe_alias(name)["collection_name"] == f"{name}__2"
    finally:
        client.drop_alias(name)
        for physical in Collections(client, name).physicals():
            client.drop_collection(physical)
        platform.close()
