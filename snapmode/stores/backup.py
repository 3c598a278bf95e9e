"""Back up both stores into a folder, and restore them from it, through the store interfaces: the same code for the
embedded stores (milvus-lite, SQLite) and the real ones (a Milvus server, Solr).

A backup holds, for each product, its record and near-duplicate mark (`products.jsonl`) and, in chunks, the id,
product key, filter fields and vector of each of its images (`vectors-NNNNN.npz`), with a `manifest.json` that names
the model that made the vectors. Products are read a page at a time, by key, each page's vectors with it, so the
two stores are saved consistently product by product; stop the writers (the topology, `ingest`) for a snapshot of
one moment. A restore writes the products first, then their vectors, and refuses a backup made by another model.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from snapmode.interfaces import MetadataStore, VectorItem, VectorStore
from snapmode.records import ProductRecord

FORMAT = 1
MANIFEST, PRODUCTS = "manifest.json", "products.jsonl"
PAGE = 500  # products read or written at once
CHUNK = 20_000  # images per vectors file

Progress = Callable[[int], None]  # told how many more products are done


class BackupError(ValueError):
    """A folder that is not a backup, a backup of another model, or a folder that already holds one."""


@dataclass
class Manifest:
    model_id: str | None
    dim: int
    products: int = 0
    images: int = 0
    chunks: list[str] = field(default_factory=list)
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    format: int = FORMAT

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST
        if not path.is_file():
            raise BackupError(f"{folder} holds no backup ({MANIFEST} missing)")
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise BackupError(f"{path}: backup format {data.get('format')!r}, this SnapMode reads {FORMAT}")
        return cls(**data)


def backup(vectors: VectorStore, metadata: MetadataStore, folder: Path, *, model_id: str | None, dim: int,
           on_progress: Progress = lambda n: None) -> Manifest:
    """Write every product and every vector into `folder` (new or empty)."""
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty: back up into a new folder")
    folder.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(model_id=model_id, dim=dim)
    pending: list[VectorItem] = []
    with (folder / PRODUCTS).open("w", encoding="utf-8") as out:
        for records in _pages(metadata):
            keys = [r.key for r in records]
            marks = metadata.duplicate_marks(keys)
            for record in records:
                out.write(json.dumps({"record": record.model_dump(mode="json"), "duplicate_of": marks.get(record.key)})
                          + "\n")
            items = _items(vectors, records)
            manifest.images += len(items)
            pending += items
            while len(pending) >= CHUNK:
                manifest.chunks.append(_write_chunk(folder, len(manifest.chunks), pending[:CHUNK]))
                pending = pending[CHUNK:]
            manifest.products += len(records)
            on_progress(len(records))
    if pending:
        manifest.chunks.append(_write_chunk(folder, len(manifest.chunks), pending))
    (folder / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    return manifest


def restore(vectors: VectorStore, metadata: MetadataStore, folder: Path, *, model_id: str | None, dim: int,
            on_progress: Progress = lambda n: None) -> Manifest:
    """Write the backup in `folder` into the stores: the products (with their near-duplicate marks), then the
    vectors. A product the store holds in a newer version keeps it, as with any older record."""
    manifest = Manifest.read(folder)
    if manifest.dim != dim or (manifest.model_id and model_id and manifest.model_id != model_id):
        raise BackupError(f"{folder} holds vectors of {manifest.model_id} ({manifest.dim}-d), the stores take "
                          f"{model_id} ({dim}-d): restore with the model of the backup (SNAPMODE_MODEL_CHECKPOINT), "
                          "then `snapmode reindex` to move to another")
    with (folder / PRODUCTS).open(encoding="utf-8") as lines:
        page: list[dict] = []
        for line in lines:
            page.append(json.loads(line))
            if len(page) == PAGE:
                _restore_products(metadata, page)
                on_progress(len(page))
                page = []
        if page:
            _restore_products(metadata, page)
            on_progress(len(page))
    for name in manifest.chunks:
        chunk = np.load(folder / name)
        items = [VectorItem(image_id=str(i), product_key=str(k), vector=v, site=str(s), category=str(c),
                            brand=str(b), colour=str(o), price=float(p))
                 for i, k, v, s, c, b, o, p in zip(chunk["ids"], chunk["keys"], chunk["vectors"], chunk["sites"],
                                                   chunk["categories"], chunk["brands"], chunk["colours"],
                                                   chunk["prices"])]
        for start in range(0, len(items), PAGE):
            vectors.upsert(items[start:start + PAGE])
    return manifest


def _pages(metadata: MetadataStore) -> Iterator[list[ProductRecord]]:
    offset = 0
    while records := metadata.query(limit=PAGE, offset=offset):
        yield records
        offset += len(records)


def _items(vectors: VectorStore, records: list[ProductRecord]) -> list[VectorItem]:
    """The stored vectors of `records`' images, each with the record's filter fields."""
    by_key = {r.key: r for r in records}
    images = vectors.images_of(list(by_key))
    stored = vectors.fetch([i for ids in images.values() for i in sorted(ids)])
    return [VectorItem.from_record(by_key[key], image_id, stored[image_id])
            for key, ids in images.items() for image_id in sorted(ids) if image_id in stored]


def _write_chunk(folder: Path, number: int, items: list[VectorItem]) -> str:
    name = f"vectors-{number:05d}.npz"
    np.savez(folder / name, ids=np.array([i.image_id for i in items]), keys=np.array([i.product_key for i in items]),
             vectors=np.stack([np.asarray(i.vector, dtype=np.float32) for i in items]),
             sites=np.array([i.site for i in items]), categories=np.array([i.category for i in items]),
             brands=np.array([i.brand for i in items]), colours=np.array([i.colour for i in items]),
             prices=np.array([i.price for i in items], dtype=np.float64))
    return name


def _restore_products(metadata: MetadataStore, page: list[dict]) -> None:
    records = [ProductRecord.model_validate(row["record"]) for row in page]
    metadata.upsert(records, {r.key: row["duplicate_of"] for r, row in zip(records, page) if row["duplicate_of"]})
