"""The product record schema and deterministic image ids."""

from __future__ import annotations

import json

import pytest

from snapmode.records import InvalidRecord, ProductRecord, image_id


def make(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {"site": "shop.example", "product_id": "P-1", "url": "https://shop.example/p/1",
                               "title": "Red dress", "price": 49.9, "currency": "EUR",
                               "image_urls": ["https://shop.example/1.jpg", "https://shop.example/2.jpg"]}
    data.update(overrides)
    return data


def test_round_trip_keeps_every_field() -> None:
    record = ProductRecord.from_dict(make(brand="Acme", category="dress", colour="red"))
    again = ProductRecord.from_json(record.to_json())
    assert again == record
    assert json.loads(record.to_json())["schema_version"] == 1


def test_key_and_image_ids_are_deterministic() -> None:
    a, b = ProductRecord.from_dict(make()), ProductRecord.from_dict(make(title="Other title"))
    assert a.key == "shop.example:P-1"
    assert [i.image_id for i in a.images()] == [i.image_id for i in b.images()]
    ids = {i.image_id for i in a.images()}
    assert len(ids) == 2 and all(len(i) == 32 for i in ids)
    assert image_id("shop.example", "P-2", "https://shop.example/1.jpg") not in ids


def test_duplicate_image_urls_are_dropped_in_order() -> None:
    record = ProductRecord.from_dict(make(image_urls=["file:///a.jpg", "file:///b.jpg", "file:///a.jpg"]))
    assert record.image_urls == ("file:///a.jpg", "file:///b.jpg")


@pytest.mark.parametrize(("overrides", "field"), [
    ({"image_urls": []}, "image_urls"),
    ({"image_urls": ["ftp://x/a.jpg"]}, "image_urls"),
    ({"price": -1}, "price"),
    ({"currency": "euro"}, "currency"),
    ({"site": "bad site"}, "site"),
    ({"title": ""}, "title"),
    ({"unknown": 1}, "unknown"),
])
def test_invalid_records_name_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRecord, match=field):
        ProductRecord.from_dict(make(**overrides))


def test_malformed_json_is_an_invalid_record() -> None:
    with pytest.raises(InvalidRecord):
        ProductRecord.from_json(b'{"site": "x", ')


def test_a_price_must_be_a_finite_number() -> None:
    fields = {"site": "s", "product_id": "1", "url": "https://s.example/1", "title": "t",
              "image_urls": ["https://s.example/1.jpg"]}
    for price in (float("inf"), float("nan")):
        with pytest.raises(InvalidRecord, match="price"):
            ProductRecord.from_dict({**fields, "price": price})


def test_tombstones_parse_beside_records_and_carry_their_version_in_utc() -> None:
    from datetime import datetime, timedelta, timezone

    from snapmode.records import Tombstone, parse_versioned

    at = datetime(2026, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    tombstone = Tombstone.of_key("shop:a:b", reason="http_410", at=at)
    assert (tombstone.site, tombstone.product_id, tombstone.key) == ("shop", "a:b", "shop:a:b")
    assert parse_versioned(tombstone.to_json()) == tombstone
    assert tombstone.crawled_at == at and tombstone.crawled_at.utcoffset() == timedelta(0)
    record = ProductRecord(site="s", product_id="1", url="https://s.example/1", title="t",
                           image_urls=("https://s.example/1.jpg",), crawled_at=at)
    assert parse_versioned(record.to_json()) == record and record.crawled_at.tzinfo == timezone.utc
    for bad in ("no-site", ":pid", "bad site:1"):
        with pytest.raises(InvalidRecord):
            Tombstone.of_key(bad)
    with pytest.raises(InvalidRecord):
        parse_versioned('{"kind": "tombstone", "site": "s"}')
