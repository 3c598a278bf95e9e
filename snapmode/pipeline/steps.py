"""The pipeline steps as plain functions: prepare (fetch, validate, decode) -> embed -> write.

The in-process runner and the Storm bolts call these same functions; no step lives only in one of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from PIL import Image

from snapmode.interfaces import Embedder, MetadataStore, VectorItem, VectorStore
from snapmode.pipeline.decode import DecodeLimits, decode_image
from snapmode.pipeline.errors import ImageRejected
from snapmode.pipeline.fetch import Fetcher, FetchOptions
from snapmode.records import ImageRef, InvalidRecord, ProductRecord

__all__ = ["FetchOptions", "Fetcher", "PreparedImage", "Rejection", "parse_record", "prepare_image",
           "prepare_or_reject", "embed_images", "write_metadata", "write_vectors", "write_batch"]


@dataclass(slots=True)
class PreparedImage:
    """A decoded, validated image of one product, ready to embed."""

    record: ProductRecord
    ref: ImageRef
    image: Image.Image


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why something was not indexed: the unit of the dead-letter stream."""

    reason: str
    detail: str
    product_key: str | None = None
    image_id: str | None = None
    url: str | None = None
    payload: str | None = None  # the raw input when it could not be parsed
    at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())
    retryable: bool = False  # a later try may succeed (timeout, HTTP 503): a streaming pipeline replays it

    @classmethod
    def of_image(cls, record: ProductRecord, ref: ImageRef, error: ImageRejected) -> Rejection:
        return cls(reason=error.reason, detail=error.detail, product_key=record.key, image_id=ref.image_id,
                   url=ref.url, retryable=error.retryable)


def parse_record(raw: str | bytes, origin: str) -> ProductRecord | Rejection:
    """A record from its JSON, or the `Rejection` that says why it is malformed (`origin` says where it came from)."""
    try:
        return ProductRecord.from_json(raw)
    except InvalidRecord as exc:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        return Rejection(reason="invalid_record", detail=f"{origin}: {exc}", payload=text[:10_000])


def prepare_image(record: ProductRecord, ref: ImageRef, limits: DecodeLimits, fetcher: Fetcher) -> PreparedImage:
    """Fetch and decode one image of a record; raises `ImageRejected`."""
    data = fetcher.fetch(ref.url, limits.max_bytes)
    return PreparedImage(record=record, ref=ref, image=decode_image(data, limits))


def prepare_or_reject(record: ProductRecord, ref: ImageRef, limits: DecodeLimits,
                      fetcher: Fetcher) -> PreparedImage | Rejection:
    """`prepare_image`, with a refused image turned into its `Rejection`."""
    try:
        return prepare_image(record, ref, limits, fetcher)
    except ImageRejected as exc:
        return Rejection.of_image(record, ref, exc)


def embed_images(embedder: Embedder, prepared: Sequence[PreparedImage]) -> list[VectorItem]:
    """One batched forward pass; each image becomes a `VectorItem` keyed by its deterministic id."""
    if not prepared:
        return []
    vectors = embedder.embed([p.image for p in prepared])
    assert vectors.shape == (len(prepared), embedder.dim), f"embedder returned {vectors.shape}"
    return [VectorItem.from_record(p.record, p.ref.image_id, vector) for p, vector in zip(prepared, vectors)]


def write_metadata(store: MetadataStore, records: Sequence[ProductRecord]) -> None:
    store.upsert(list({r.key: r for r in records}.values()))


def write_vectors(store: VectorStore, items: Sequence[VectorItem]) -> None:
    store.upsert(list({i.image_id: i for i in items}.values()))


def write_batch(vectors: VectorStore, metadata: MetadataStore, records: Sequence[ProductRecord],
                items: Sequence[VectorItem]) -> None:
    """Metadata first, then vectors: every searchable vector has its product's metadata. Both are upserts."""
    write_metadata(metadata, records)
    write_vectors(vectors, items)
