"""Near-duplicates at ingestion: the product whose image a record's image (nearly) repeats, by embedding similarity.

The embedded runner and the Storm metadata writer call `find_duplicates` before they write the records; its marks go
into the metadata store with them (`duplicate_of`), so no vector collection changes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from snapmode.interfaces import MetadataStore, VectorItem, VectorStore
from snapmode.records import ProductRecord, newest_per_key

DUPLICATE_NEIGHBOURS = 8  # images of other products each image of a record is compared with


def find_duplicates(vectors: VectorStore, metadata: MetadataStore, records: Sequence[ProductRecord],
                    items: Sequence[VectorItem], *, similarity: float,
                    neighbours: int = DUPLICATE_NEIGHBOURS) -> dict[str, str]:
    """The product each of `records` duplicates, by key; products that duplicate none are left out.

    A record's images are its new embeddings in `items` and the stored vectors of its other images. It duplicates
    product Y when one of them has a cosine similarity of at least `similarity` with an image of Y, Y being another
    product the metadata store holds, or one before it in `records` (first come, first indexed: the original); the
    most similar Y wins, then the smallest key. The mark names Y's own original instead when Y has one still stored,
    and none when that original is the record's product (it came first). A record of the version already stored
    keeps its stored mark when none is found now (its other images may have been checked in another batch).
    `similarity` 0: nothing is marked.
    """
    latest = list(newest_per_key(records).values())
    if similarity <= 0 or not latest:
        return {}
    wanted = {r.key: [ref.image_id for ref in r.images()] for r in latest}
    owned = {image: key for key, ids in wanted.items() for image in ids}
    fresh = {i.image_id: i.vector for i in items if owned.get(i.image_id) == i.product_key}
    stored = vectors.fetch([image for image in owned if image not in fresh]) if len(fresh) < len(owned) else {}
    own = {key: np.stack([np.asarray(v, dtype=np.float32) for v in (fresh.get(i, stored.get(i)) for i in ids)
                          if v is not None])
           for key, ids in wanted.items() if any(i in fresh or i in stored for i in ids)}
    position = {key: n for n, key in enumerate(wanted)}
    scores: dict[str, dict[str, float]] = {key: {} for key in wanted}
    if own:
        order = list(own)
        queries = np.concatenate([own[key] for key in order])
        rows = vectors.search(queries, neighbours + max(len(wanted[key]) for key in order))
        row_owner = [key for key in order for _ in range(len(own[key]))]
        for key, hits in zip(row_owner, rows):
            for hit in hits:
                if hit.product_key != key and hit.score >= similarity:
                    scores[key][hit.product_key] = max(hit.score, scores[key].get(hit.product_key, -1.0))
        for n, key in enumerate(order):  # products before it in this batch, whose vectors may not be stored yet
            for earlier in order[:n]:
                score = float((own[key] @ own[earlier].T).max())
                if score >= similarity:
                    scores[key][earlier] = max(score, scores[key].get(earlier, -1.0))
    candidates = {other for found in scores.values() for other in found}
    known = metadata.duplicate_marks(list(candidates | set(wanted)))  # live products, with their marks
    roots = {known[c] for c in candidates if known.get(c)} - set(known) - set(wanted)
    if roots:
        known.update(metadata.duplicate_marks(list(roots)))
    versions = metadata.versions(list(wanted))
    marks: dict[str, str] = {}
    for record in latest:
        key = record.key

        def before(other: str) -> bool:
            return other in position and position[other] < position[key]

        ranked = sorted((-score, other) for other, score in scores[key].items() if other in known or before(other))
        mark = None
        if ranked:
            other = ranked[0][1]
            root = marks.get(other) if before(other) else known.get(other)
            if root != key:
                mark = root if root is not None and (root in known or before(root)) else other
        elif versions.get(key) == record.crawled_at and known.get(key) not in (None, key):
            mark = known[key]
        if mark is not None:
            marks[key] = mark
    return marks
