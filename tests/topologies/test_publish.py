"""What `snapmode publish` sends: records keyed by product key; malformed lines as they are, for the topology to
dead-letter."""

from snapmode.pipeline.steps import Rejection
from snapmode.records import ProductRecord
from snapmode.topologies.publish import message


def test_records_are_keyed_by_product_key() -> None:
    record = ProductRecord(site="shop", product_id="p1", url="https://shop.example/p1", title="Skirt",
                           image_urls=("https://shop.example/p1.jpg",))
    key, value = message(record)  # type: ignore[misc]
    assert key == "shop:p1" and ProductRecord.from_json(value) == record


def test_malformed_input_goes_raw_and_nothing_else_without_it() -> None:
    assert message(Rejection(reason="invalid_record", detail="line 3", payload="{oops")) == (None, b"{oops")
    assert message(Rejection(reason="no_images", detail="empty folder", product_key="shop:p2")) is None
