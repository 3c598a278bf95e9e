"""The pipeline steps as plain functions: prepare (fetch, validate, decode) -> embed -> write.

The in-process runner and the Storm bolts call these same functions; no step lives only in one of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TypeVar

from PIL import Image

from snapmode.interfaces import (Embedder, IndexMismatch, MetadataStore, StoreError, StoreUnavailable, VectorItem,
                                 VectorStore)
from snapmode.pipeline.decode import DecodeLimits, decode_image
from snapmode.pipeline.duplicates import find_duplicates
from snapmode.pipeline.errors import ImageRejected
from snapmode.pipeline.fetch import Fetcher, FetchOptions
from snapmode.records import (ImageRef, InvalidRecord, ProductRecord, Tombstone, Versioned, newest_per_key,
                              parse_versioned)
from snapmode.retries import Backoff, retry_transient

__all__ = ["FetchOptions", "Fetcher", "PreparedImage", "Rejection", "parse_record", "prepare_image",
           "prepare_or_reject", "embed_images", "write_metadata", "write_vectors", "write_batch",
           "write_product_vectors", "newest", "current_records", "delete_products", "isolate_refusals",
           "write_isolated", "drop_deleted_since", "find_duplicates"]

T = TypeVar("T")
OnRetry = Callable[[BaseException, int, float], None]  # (error, attempt, delay_s), before each wait


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
    payload: str | None = None  # the input it was made from (raw when unparsable), for `snapmode deadletters replay`
    at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())
    retryable: bool = False  # a later try may succeed (timeout, HTTP 503): a streaming pipeline replays it

    @classmethod
    def of_refusal(cls, reason: str, *, product_key: str, image_id: str | None = None,
                   payload: str | None = None) -> Rejection:
        """A row that a store refused, with the store's reason (and the record or tombstone it came from)."""
        return cls(reason="store_refused", detail=reason[:2000], product_key=product_key, image_id=image_id,
                   payload=payload)

    @classmethod
    def of_image(cls, record: ProductRecord, ref: ImageRef, error: ImageRejected) -> Rejection:
        return cls(reason=error.reason, detail=error.detail, product_key=record.key, image_id=ref.image_id,
                   url=ref.url, retryable=error.retryable, payload=record.to_json())


def parse_record(raw: str | bytes, origin: str) -> Versioned | Rejection:
    """A record or tombstone from its JSON, or the `Rejection` that says why it is malformed (`origin` says where it
    came from)."""
    try:
        return parse_versioned(raw)
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


def write_metadata(store: MetadataStore, records: Sequence[ProductRecord],
                   duplicates: Mapping[str, str] | None = None) -> list[ProductRecord]:
    """Upsert the records, each marked with the product `duplicates` says it duplicates (`find_duplicates`);
    returns those stored (the metadata store leaves out versions older than its own)."""
    return store.upsert(newest(records), duplicates=duplicates or {})


def write_vectors(store: VectorStore, items: Sequence[VectorItem]) -> None:
    store.upsert(list({i.image_id: i for i in items}.values()))


def newest(records: Sequence[ProductRecord]) -> list[ProductRecord]:
    """The newest record (`crawled_at`) of each product key among `records`, the last one on a tie."""
    latest: dict[str, ProductRecord] = {}
    for record in records:
        if record.key not in latest or latest[record.key].crawled_at <= record.crawled_at:
            latest[record.key] = record
    return list(latest.values())


def current_records(metadata: MetadataStore, records: Sequence[ProductRecord]) -> list[ProductRecord]:
    """The newest record of each key, unless the metadata store already holds a newer version (or deletion)."""
    latest = newest(records)
    stored = metadata.versions([r.key for r in latest])
    return [r for r in latest if r.key not in stored or stored[r.key] <= r.crawled_at]


def write_product_vectors(store: VectorStore, records: Sequence[ProductRecord], items: Sequence[VectorItem]) -> None:
    """Make each record's product hold exactly the record's images, tagged with its filter fields.

    `items` are new embeddings of some of those images; the record's images already stored but not in `items` are
    re-tagged (their vectors read back, not re-embedded), and the product's stored images the record no longer has
    are deleted. Items of products without a record here are ignored. Writes come before deletions, so a product
    is never left without its images midway. Images the store does not hold yet are inserted, not upserted: Milvus
    writes an upsert as a deletion and an insert, and every search pays for those deletions until a compaction
    rewrites the segment. The stored ones are read with read-your-writes consistency and a product has one writer
    at a time (the topology groups by product key), so an id is never inserted twice.
    """
    latest = {r.key: r for r in newest(records)}
    if not latest:
        return
    wanted = {key: {ref.image_id for ref in r.images()} for key, r in latest.items()}
    fresh = {i.image_id: i for i in items if i.product_key in latest and i.image_id in wanted[i.product_key]}
    stored = store.images_of(list(latest))
    keep = [image for key, ids in stored.items() for image in ids & wanted[key] if image not in fresh]
    vectors = store.fetch(keep) if keep else {}
    owner = {image: key for key, ids in wanted.items() for image in ids}
    rows = [VectorItem.from_record(latest[i.product_key], i.image_id, i.vector) for i in fresh.values()]
    rows += [VectorItem.from_record(latest[owner[image]], image, vector) for image, vector in vectors.items()]
    held = set().union(*stored.values())
    store.insert([row for row in rows if row.image_id not in held])
    store.upsert([row for row in rows if row.image_id in held])
    gone = [image for key, ids in stored.items() for image in ids - wanted[key]]
    store.delete(gone)


def drop_deleted_since(vectors: VectorStore, metadata: MetadataStore, records: Sequence[ProductRecord]) -> list[str]:
    """Delete again the vectors just written for `records` whose product the metadata store deleted meanwhile: a
    deletion applied between this writer's version check and its upsert found no vectors to delete. Returns those
    keys. (A deletion applied after this check sees the vectors, the upsert being done: nothing is left behind.)"""
    latest = newest(records)
    stored = metadata.versions([r.key for r in latest])
    newer = [r.key for r in latest if r.key in stored and stored[r.key] > r.crawled_at]
    if not newer:
        return []
    live = metadata.get(newer)
    gone = [key for key in newer if key not in live]
    images = vectors.images_of(gone) if gone else {}
    vectors.delete([image for ids in images.values() for image in ids])
    return gone


def write_batch(vectors: VectorStore, metadata: MetadataStore, records: Sequence[ProductRecord],
                items: Sequence[VectorItem], *, duplicate_similarity: float = 0.0) -> list[ProductRecord]:
    """Metadata first, then vectors: every searchable vector has its product's metadata. Only the records the
    metadata store took (none older than its version) change the vectors, and those whose very version it already
    held (a retry after the vectors failed, a replay). Each record is checked for near-duplicates first
    (`find_duplicates` at `duplicate_similarity`; 0: none). Returns the records it took."""
    marks = find_duplicates(vectors, metadata, records, items, similarity=duplicate_similarity)
    stored = write_metadata(metadata, records, marks)
    taken = {r.key for r in stored}
    held = [r for r in newest(records) if r.key not in taken]
    write_product_vectors(vectors, [*stored, *(current_records(metadata, held) if held else [])], items)
    return stored


def delete_products(vectors: VectorStore | None, metadata: MetadataStore,
                    tombstones: Sequence[Tombstone]) -> list[str]:
    """Delete each tombstone's product from both stores, unless the metadata store holds a newer version of it;
    metadata first (its tombstone then refuses older replays), then every stored image (`vectors` None: no vector
    index exists yet, so no image either). Returns the deleted keys."""
    latest = newest_per_key(tombstones)
    deleted: list[str] = []
    for at in sorted({t.crawled_at for t in latest.values()}):
        deleted += metadata.delete([k for k, t in latest.items() if t.crawled_at == at], at=at)
    if vectors is None:
        return deleted
    images = vectors.images_of(deleted) if deleted else {}
    vectors.delete([image for ids in images.values() for image in ids])
    return deleted


def isolate_refusals(write: Callable[[list[T]], object], rows: Sequence[T],
                     row_id: Callable[[T], str]) -> dict[str, str]:
    """Write `rows` as one batch; when it fails for a reason retrying cannot cure (a store's refusal, a row no code
    path can write), write them one at a time. Returns the refused rows' ids with their reasons; a transient error
    (`StoreUnavailable`) propagates, for the caller to retry, and so does an index of another model
    (`IndexMismatch`)."""
    try:
        write(list(rows))
        return {}
    except (StoreUnavailable, IndexMismatch):
        raise
    except Exception as exc:  # noqa: BLE001 - refused: found out row by row below
        if len(rows) == 1:
            return {row_id(rows[0]): refusal_reason(exc)}
    refused: dict[str, str] = {}
    for row in rows:
        try:
            write([row])
        except (StoreUnavailable, IndexMismatch):
            raise
        except Exception as exc:  # noqa: BLE001 - this row only
            refused[row_id(row)] = refusal_reason(exc)
    return refused


def write_isolated(write: Callable[[list[T]], object], rows: Sequence[T], row_id: Callable[[T], str], *,
                   backoff: Backoff, on_retry: OnRetry | None = None) -> dict[str, str]:
    """`isolate_refusals`, the whole of it tried again while a store is away, for at most the backoff's budget
    (`retry_transient`; then `StoreUnavailable` propagates). Returns the refused rows' ids with their reasons."""
    return retry_transient(lambda: isolate_refusals(write, rows, row_id), backoff, on_retry=on_retry)


def refusal_reason(exc: BaseException) -> str:
    """A store's own message for its refusals; the error's type too for anything else."""
    return str(exc) if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"
