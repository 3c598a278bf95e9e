"""What travels between the components: small JSON-friendly values for records, decoded images and embeddings."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import asdict

import numpy as np
from PIL import Image

from snapmode.interfaces import VectorItem
from snapmode.pipeline.steps import PreparedImage, Rejection
from snapmode.records import ImageRef, ProductRecord, Tombstone
from snapmode.topologies.handoff import PREFIX as HANDOFF_PREFIX, ImageHandoff

# Output fields of each stream, in the order of the values below.
RECORD_FIELDS = ["key", "record"]
IMAGE_FIELDS = ["image_id", "record", "ref", "image"]  # image: base64 JPEG, or a handoff file's name
ITEM_FIELDS = ["image_id", "product_key", "record", "item"]  # the writers group by product key
REJECTION_FIELDS = ["rejection"]
TOMBSTONE_FIELDS = ["key", "tombstone"]


JPEG_QUALITY = 95  # with full-resolution chroma: embeddings move by far less than between two photos of a product


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


def image_values(prepared: PreparedImage, handoff: ImageHandoff | None = None) -> list[str]:
    """The image goes in a handoff file when one is given, else inline."""
    image = handoff.put(prepared.image) if handoff is not None else encode_image(prepared.image)
    return [prepared.ref.image_id, prepared.record.to_json(), prepared.ref.model_dump_json(), image]


def prepared_from_values(values: list[str] | tuple[str, ...], handoff: ImageHandoff | None = None) -> PreparedImage:
    _, record, ref, image = values
    if image.startswith(HANDOFF_PREFIX):
        if handoff is None:
            raise ValueError("an image handed off through a file reached a bolt without a handoff directory")
        decoded = handoff.take(image)
    else:
        decoded = decode_image_payload(image)
    return PreparedImage(record=ProductRecord.from_json(record), ref=ImageRef.model_validate_json(ref), image=decoded)


def item_values(item: VectorItem, record: ProductRecord) -> list[str]:
    fields = {"image_id": item.image_id, "product_key": item.product_key, "site": item.site,
              "category": item.category, "brand": item.brand, "colour": item.colour, "price": item.price,
              "vector": base64.b64encode(np.asarray(item.vector, dtype="<f4").tobytes()).decode("ascii")}
    return [item.image_id, item.product_key, record.to_json(), json.dumps(fields)]


def item_from_values(values: list[str] | tuple[str, ...]) -> tuple[VectorItem, ProductRecord]:
    _, _, record, item = values
    fields = json.loads(item)
    fields["vector"] = np.frombuffer(base64.b64decode(fields["vector"]), dtype="<f4")
    return VectorItem(**fields), ProductRecord.from_json(record)


def rejection_values(rejection: Rejection) -> list[str]:
    return [json.dumps(asdict(rejection), ensure_ascii=False)]


def rejection_from_values(values: list[str] | tuple[str, ...]) -> Rejection:
    return Rejection(**json.loads(values[0]))


def tombstone_values(tombstone: Tombstone) -> list[str]:
    return [tombstone.key, tombstone.to_json()]


def tombstone_from_values(values: list[str] | tuple[str, ...]) -> Tombstone:
    return Tombstone.model_validate_json(values[1])
