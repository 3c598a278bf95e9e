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
from snapmode.records import ImageRef, ProductRecord

# Output fields of each stream, in the order of the values below.
RECORD_FIELDS = ["key", "record"]
IMAGE_FIELDS = ["image_id", "record", "ref", "png"]
ITEM_FIELDS = ["image_id", "record", "item"]
REJECTION_FIELDS = ["rejection"]


def encode_image(image: Image.Image) -> str:
    """Lossless PNG, base64: the decoded image is already bounded by `max_image_side`, so this stays small."""
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return base64.b64encode(out.getvalue()).decode("ascii")


def decode_png(data: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(data)), formats=["PNG"])
    image.load()
    return image


def image_values(prepared: PreparedImage) -> list[str]:
    return [prepared.ref.image_id, prepared.record.to_json(), prepared.ref.model_dump_json(),
            encode_image(prepared.image)]


def prepared_from_values(values: list[str] | tuple[str, ...]) -> PreparedImage:
    _, record, ref, png = values
    return PreparedImage(record=ProductRecord.from_json(record), ref=ImageRef.model_validate_json(ref),
                         image=decode_png(png))


def item_values(item: VectorItem, record: ProductRecord) -> list[str]:
    fields = {"image_id": item.image_id, "product_key": item.product_key, "site": item.site,
              "category": item.category, "brand": item.brand, "colour": item.colour, "price": item.price,
              "vector": base64.b64encode(np.asarray(item.vector, dtype="<f4").tobytes()).decode("ascii")}
    return [item.image_id, record.to_json(), json.dumps(fields)]


def item_from_values(values: list[str] | tuple[str, ...]) -> tuple[VectorItem, ProductRecord]:
    _, record, item = values
    fields = json.loads(item)
    fields["vector"] = np.frombuffer(base64.b64decode(fields["vector"]), dtype="<f4")
    return VectorItem(**fields), ProductRecord.from_json(record)


def rejection_values(rejection: Rejection) -> list[str]:
    return [json.dumps(asdict(rejection), ensure_ascii=False)]


def rejection_from_values(values: list[str] | tuple[str, ...]) -> Rejection:
    return Rejection(**json.loads(values[0]))
