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
