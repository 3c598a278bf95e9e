"""What travels between the components: small JSON-friendly values for records, a product's decoded images and its
embeddings (the record's JSON once per product), rejections and tombstones."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

from snapmode.interfaces import VectorItem
from snapmode.pipeline.steps import PreparedImage, Rejection
from snapmode.records import ProductRecord, Tombstone
from snapmode.topologies.handoff import PREFIX as HANDOFF_PREFIX, ImageHandoff

# Output fields of each stream, in the order of the values below.
RECORD_FIELDS = ["key", "record"]
RETRY_FIELDS = ["key", "record", "retry"]  # retry: the record's `RetryState` as JSON (the retry spout's tuples)
ENVELOPE_FIELDS = ["key", "envelope"]  # a `RetryEnvelope` as JSON, for the retry topic
PRODUCT_FIELDS = ["product_key", "record", "images"]  # images: JSON [[image_id, base64 JPEG or handoff name], ...]
VECTORS_FIELDS = ["product_key", "record", "vectors"]  # vectors: JSON {image_id: base64 float32}; writers group by key
REJECTION_FIELDS = ["rejection"]
TOMBSTONE_FIELDS = ["key", "tombstone"]

Values = list[str] | tuple[str, ...]
JPEG_QUALITY = 95  # with full-resolution chroma: embeddings move by far less than between two photos of a product


@dataclass(slots=True)
class ProductImages:
    """A product's record, as parsed and as its JSON, with its decoded images: what the embed bolt batches."""

    record: ProductRecord
    record_json: str
    images: list[PreparedImage]


@dataclass(slots=True)
class ProductVectors:
    """A product's record, as parsed and as its JSON, with the new embeddings of its images: what a writer writes."""

    record: ProductRecord
    record_json: str
    items: list[VectorItem]


def encode_image(image: Image.Image) -> str:
    """JPEG, base64, of an image already bounded by `max_image_side`.

    A 256 px photo is about 26 KiB and 0.8 ms to encode and decode, against 110 KiB and 6.6 ms as PNG: on a small
    machine the payload's cost between bolts (here, in the JVM and in the multilang JSON) competes with the model.
    """
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, subsampling=0)
    return base64.b64encode(out.getvalue()).decode("ascii")


def decode_image_payload(data: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(data)), formats=["JPEG"])
    image.load()
    return image


def image_payload(image: Image.Image, handoff: ImageHandoff | None = None) -> str:
    """The image in a handoff file when one is given, else inline."""
    return handoff.put(image) if handoff is not None else encode_image(image)


def image_from_payload(payload: str, handoff: ImageHandoff | None = None) -> Image.Image:
    if payload.startswith(HANDOFF_PREFIX):
        if handoff is None:
            raise ValueError("an image handed off through a file reached a bolt without a handoff directory")
        return handoff.take(payload)
    return decode_image_payload(payload)


def product_values(prepared: Sequence[PreparedImage], handoff: ImageHandoff | None = None) -> list[str]:
    """One product's decoded images (all of one record), with the record encoded once."""
    record = prepared[0].record
    images = [[p.ref.image_id, image_payload(p.image, handoff)] for p in prepared]
    return [record.key, record.to_json(), json.dumps(images)]


def product_from_values(values: Values, handoff: ImageHandoff | None = None) -> ProductImages:
    _, record_json, images = values
    record = ProductRecord.from_json(record_json)
    refs = {ref.image_id: ref for ref in record.images()}
    prepared = [PreparedImage(record=record, ref=refs[image_id], image=image_from_payload(payload, handoff))
                for image_id, payload in json.loads(images)]
    return ProductImages(record=record, record_json=record_json, images=prepared)


def vectors_values(key: str, record_json: str, items: Sequence[VectorItem]) -> list[str]:
    """A product's new embeddings with its record's JSON as it came (the writers take the filter fields from it)."""
    vectors = {i.image_id: base64.b64encode(np.asarray(i.vector, dtype="<f4").tobytes()).decode("ascii")
               for i in items}
    return [key, record_json, json.dumps(vectors)]


def vectors_from_values(values: Values) -> ProductVectors:
    _, record_json, vectors = values
    record = ProductRecord.from_json(record_json)
    items = [VectorItem.from_record(record, image_id, np.frombuffer(base64.b64decode(data), dtype="<f4"))
             for image_id, data in json.loads(vectors).items()]
    return ProductVectors(record=record, record_json=record_json, items=items)


def rejection_values(rejection: Rejection) -> list[str]:
    return [json.dumps(asdict(rejection), ensure_ascii=False)]


def rejection_from_values(values: Values) -> Rejection:
    return Rejection(**json.loads(values[0]))


def tombstone_values(tombstone: Tombstone) -> list[str]:
    return [tombstone.key, tombstone.to_json()]


def tombstone_from_values(values: Values) -> Tombstone:
    return Tombstone.model_validate_json(values[1])
