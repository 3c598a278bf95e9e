"""`snapmode deadletters list|replay`: letters by reason, as a table or JSON; replay sends each record once more to the
records topic. Kafka is the in-process stand-in here, and the native cluster's in the integration test at the end.
Embedded, the letters are the dead-letter file's and a replay indexes their records in-process."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from snapmode.cli.main import app
from snapmode.config import get_settings
from snapmode.pipeline.errors import ImageRejected
from snapmode.pipeline.steps import Rejection
from snapmode.queue.deadletters import UNREADABLE, parse_letter, replay, select
from snapmode.queue.memory import MemoryBroker
from snapmode.queue.messages import Message
from snapmode.records import ProductRecord, Tombstone, parse_versioned
from tests.cluster import NativeCluster
from tests.conftest import jpeg_bytes

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def record(pid: str) -> ProductRecord:
    return ProductRecord(site="shop", product_id=pid, url=f"https://shop.example/{pid}", title=pid,
                         image_urls=(f"https://shop.example/{pid}/0.jpg", f"https://shop.example/{pid}/1.jpg"),
                         crawled_at=T0)


def letters() -> list[Rejection]:
    """Two images of one record refused, a row a store refused, a malformed record, a refused deletion."""
    a, b = record("a"), record("b")
    return [Rejection.of_image(a, ref, ImageRejected("not_found", "HTTP 404")) for ref in a.images()] + [
        Rejection.of_refusal("Solr refused add: HTTP 400", product_key=b.key, payload=b.to_json()),
        Rejection(reason="invalid_record", detail="kafka key None: not JSON", payload="{not json"),
        Rejection.of_refusal("HTTP 400", product_key="shop:c",
                             payload=Tombstone(site="shop", product_id="c", reason="gone", crawled_at=T0).to_json()),
    ]


@pytest.fixture
def broker(tmp_path: Path, cli_env: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> MemoryBroker:
    cli_env(DATA_DIR=tmp_path / "data", MODE="cluster")
    broker = MemoryBroker()
    monkeypatch.setattr("snapmode.queue.kafka.KafkaProducerQueue", lambda settings: broker.producer())
    monkeypatch.setattr("snapmode.queue.deadletters.read_topic", lambda settings, topic: list(broker.topics[topic]))
    settings = get_settings()
    broker.producer().send(settings.dead_letter_topic,
                           [(r.product_key, json.dumps(asdict(r)).encode()) for r in letters()] + [(None, b"junk")])
    return broker


def test_list_shows_every_letter_and_the_count_of_each_reason(broker: MemoryBroker) -> None:
    done = CliRunner().invoke(app, ["deadletters", "list"])
    assert done.exit_code == 0, done.output
    assert "6 letters" in done.output and "HTTP 404" in done.output
    assert "not_found\t2" in done.output and "store_refused\t2" in done.output and f"{UNREADABLE}\t1" in done.output


def test_list_json_filtered_by_reason(broker: MemoryBroker) -> None:
    done = CliRunner().invoke(app, ["deadletters", "list", "--json", "--reason", "not_found"])
    assert done.exit_code == 0, done.output
    shown = json.loads(done.stdout)
    assert shown["by_reason"] == {"not_found": 2}
    assert [(x["product_key"], x["offset"]) for x in shown["letters"]] == [("shop:a", 0), ("shop:a", 1)]
    assert all(x["url"].startswith("https://shop.example/a/") for x in shown["letters"])


def test_replay_sends_each_record_once_to_the_records_topic(broker: MemoryBroker) -> None:
    done = CliRunner().invoke(app, ["deadletters", "replay", "--reason", "not_found", "--reason", "store_refused",
                                    "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["published"] == 3 and json.loads(done.stdout)["letters"] == 4
    sent = broker.topics[get_settings().records_topic]
    versions = [parse_versioned(m.value) for m in sent]
    assert [m.key for m in sent] == ["shop:a", "shop:b", "shop:c"]
    assert versions[:2] == [record("a"), record("b")] and isinstance(versions[2], Tombstone)


def test_a_letter_without_its_input_is_counted_not_sent() -> None:
    broker = MemoryBroker()
    bare = parse_letter(Message("dl", 0, 0, "shop:x", json.dumps(asdict(Rejection(reason="old", detail=""))).encode()))
    report = replay(select([bare], ["old"]), broker.producer(), "records")
    assert (report.published, report.without_payload) == (0, 1) and broker.topics["records"] == []


def test_embedded_letters_are_the_files_and_a_replay_indexes_their_records_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli_env: Callable[..., None]) -> None:
    monkeypatch.chdir(tmp_path)
    cli_env()  # the defaults: embedded, data in ./.snapmode
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "a.jpg").write_bytes(b"<html><body>Sorry, this photo moved</body></html>")
    (shop / "b.jpg").write_bytes(jpeg_bytes((40, 40, 200)))
    photos = {pid: ProductRecord(site="shop", product_id=pid, url=f"https://shop.example/{pid}", title=pid,
                                 image_urls=((shop / f"{pid}.jpg").as_uri(),), crawled_at=T0) for pid in "ab"}
    (tmp_path / "records.jsonl").write_text("\n".join([photos["a"].to_json(), photos["b"].to_json(), "{broken"]) + "\n")
    assert CliRunner().invoke(app, ["ingest", "records.jsonl"]).exit_code == 0

    listed = CliRunner().invoke(app, ["deadletters", "list"])
    assert listed.exit_code == 0, listed.output
    assert ".snapmode/dead-letter.jsonl: 2 letters" in listed.output and "invalid_record\t1" in listed.output
    shown = json.loads(CliRunner().invoke(app, ["deadletters", "list", "--json"]).stdout)
    [image_reason] = set(shown["by_reason"]) - {"invalid_record"}
    assert [x["product_key"] for x in shown["letters"] if x["reason"] == image_reason] == ["shop:a"]

    (shop / "a.jpg").write_bytes(jpeg_bytes((200, 40, 40)))  # the shop put its photo back
    replayed = CliRunner().invoke(app, ["deadletters", "replay", "--reason", image_reason])
    assert replayed.exit_code == 0, replayed.output
    assert "replayed 1 records of 1 letters into the embedded stores" in replayed.output
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in replayed.output.splitlines()
            if line.count("│") == 3}
    assert rows["images_indexed"] == "1" and rows["products in store"] == "2"
    again = json.loads(CliRunner().invoke(app, ["deadletters", "replay", "--json"]).stdout)
    assert again["published"] == 2
    assert again["ingest"]["rejected_by_reason"] == {"invalid_record": 1}, "the broken line fails again"


@pytest.mark.integration
def test_list_and_replay_against_kafka(native_cluster: NativeCluster, tmp_path: Path,
                                      cli_env: Callable[..., None]) -> None:
    from snapmode.queue.deadletters import KafkaDeadLetter
    from snapmode.queue.kafka import read_topic

    run = f"deadletters-{uuid.uuid4().hex[:8]}"
    cli_env(DATA_DIR=tmp_path / "data", MODE="cluster", KAFKA_BOOTSTRAP=native_cluster.kafka_bootstrap,
            DEAD_LETTER_TOPIC=f"{run}.dead-letter", RECORDS_TOPIC=f"{run}.records")
    settings = get_settings()
    sink = KafkaDeadLetter(settings)
    for letter in letters():
        sink.send(letter)
    sink.close()

    listed = CliRunner().invoke(app, ["deadletters", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)["by_reason"] == {"not_found": 2, "store_refused": 2, "invalid_record": 1}

    replayed = CliRunner().invoke(app, ["deadletters", "replay", "--reason", "not_found"])
    assert replayed.exit_code == 0, replayed.output
    assert "replayed 1 records of 2 letters" in replayed.output
    [sent] = read_topic(settings, settings.records_topic)
    assert sent.key == "shop:a" and parse_versioned(sent.value) == record("a")
