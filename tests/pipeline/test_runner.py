"""The in-process runner: good images are indexed once, bad ones are counted and dead-lettered, replays upsert."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from snapmode.pipeline.decode import DecodeLimits
from snapmode.pipeline.runner import IngestRunner
from snapmode.pipeline.sources import read_records_jsonl
from snapmode.pipeline.steps import FetchOptions
from snapmode.queue.deadletters import read_letter_file, JsonlDeadLetter
from snapmode.records import ProductRecord
from snapmode.stores.milvus import MilvusVectorStore
from snapmode.stores.sqlite import SqliteMetadataStore
from tests.conftest import MeanColourEmbedder, jpeg_bytes, png_bomb_bytes


@pytest.fixture
def runner(tmp_path: Path) -> IngestRunner:
    embedder = MeanColourEmbedder()
    return IngestRunner(embedder=embedder,
                        vectors=MilvusVectorStore(uri=str(tmp_path / "v.db"), collection="t", dim=embedder.dim),
                        metadata=SqliteMetadataStore(tmp_path / "m.sqlite"), limits=DecodeLimits(),
                        fetch=FetchOptions(allow_files=True), dead_letter=JsonlDeadLetter(tmp_path / "dead.jsonl"),
                        batch_size=3, workers=2)


def write_images(folder: Path) -> dict[str, str]:
    folder.mkdir()
    files = {"red.jpg": jpeg_bytes((220, 20, 20)), "blue.jpg": jpeg_bytes((20, 20, 220)),
             "green.jpg": jpeg_bytes((20, 200, 20)), "page.jpg": b"<!doctype html><html>not a jpeg</html>",
             "bomb.png": png_bomb_bytes(), "cut.jpg": jpeg_bytes()[:40]}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: (folder / name).as_uri() for name in files}


def record(pid: str, urls: list[str]) -> ProductRecord:
    return ProductRecord(site="t", product_id=pid, url=f"https://t.example/{pid}", title=f"Item {pid}",
                         image_urls=tuple(urls))


def test_bad_images_are_counted_dead_lettered_and_the_rest_indexed(runner: IngestRunner, tmp_path: Path) -> None:
    urls = write_images(tmp_path / "img")
    missing = (tmp_path / "img" / "missing.jpg").as_uri()
    records = [record("a", [urls["red.jpg"], urls["page.jpg"]]),
               record("b", [urls["blue.jpg"], urls["bomb.png"], urls["green.jpg"]]),
               record("c", [urls["cut.jpg"], missing])]
    report = runner.run(records)

    assert report.records == 3 and report.images_indexed == 3
    assert report.rejected == {"not_an_image": 1, "pixel_bomb": 1, "corrupt": 1, "not_found": 1}
    assert runner.vectors.count() == 3
    assert set(runner.metadata.get(["t:a", "t:b", "t:c"])) == {"t:a", "t:b"}
    dead = [letter.rejection for letter in read_letter_file(tmp_path / "dead.jsonl")]
    assert sorted(d.reason for d in dead) == ["corrupt", "not_an_image", "not_found", "pixel_bomb"]
    assert {d.url for d in dead if d.reason == "pixel_bomb"} == {urls["bomb.png"]}


def test_replay_neither_loses_nor_duplicates(runner: IngestRunner, tmp_path: Path) -> None:
    urls = write_images(tmp_path / "img")
    records = [record(str(i), [urls["red.jpg"], urls["blue.jpg"]]) for i in range(5)]
    runner.run(records)
    runner.run(records)
    assert runner.vectors.count() == 10 and runner.metadata.count() == 5
    query = runner.embedder.embed([Image.new("RGB", (8, 8), (20, 20, 220))])
    hit = runner.vectors.search(query, k=1)[0][0]
    assert hit.image_id in {ref.image_id for r in records for ref in r.images() if ref.url == urls["blue.jpg"]}


def test_malformed_jsonl_lines_become_rejections(runner: IngestRunner, tmp_path: Path) -> None:
    urls = write_images(tmp_path / "img")
    path = tmp_path / "records.jsonl"
    path.write_text(record("ok", [urls["red.jpg"]]).to_json() + "\n{not json\n" + '{"site": "t"}\n')
    report = runner.run(read_records_jsonl(path))
    assert report.images_indexed == 1 and report.rejected == {"invalid_record": 2}
    payloads = [letter.rejection.payload for letter in read_letter_file(tmp_path / "dead.jsonl")]
    assert payloads[0].startswith("{not json")


def test_skip_indexed_embeds_only_new_images(runner: IngestRunner, tmp_path: Path) -> None:
    urls = write_images(tmp_path / "img")
    runner.run([record("a", [urls["red.jpg"]])])
    runner.skip_indexed = True
    retitled = record("a", [urls["red.jpg"]]).model_copy(update={"title": "Renamed"})
    report = runner.run([retitled, record("b", [urls["blue.jpg"], urls["red.jpg"]])])
    assert (report.images_indexed, report.images_skipped) == (2, 1)
    assert runner.vectors.count() == 3
    assert runner.metadata.get(["t:a"])["t:a"].title == "Renamed"
