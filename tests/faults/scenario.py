"""What one fault's run publishes, the final state it must leave in both stores, and an audit of the stores by id."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from snapmode.config import Settings
from snapmode.interfaces import SearchFilter
from snapmode.platform import embedder_dim
from snapmode.queue.deadletters import parse_letter
from snapmode.queue.kafka import read_topic
from snapmode.records import ProductRecord, Tombstone, Versioned
from snapmode.stores.factory import build_metadata_store, build_vector_store

T0 = datetime(2026, 6, 1, tzinfo=timezone.utc)
NEWER, OLDER = T0 + timedelta(minutes=10), T0 + timedelta(minutes=5)


@dataclass
class Scenario:
    """Products first (`creates`), then `changes` mixed in: a newer version dropping an image at a doubled price, an
    older version replayed after it (must change nothing), deletions; and records no parser takes (`malformed`)."""

    name: str
    creates: list[ProductRecord]
    changes: list[Versioned] = field(default_factory=list)
    malformed: list[tuple[str, bytes]] = field(default_factory=list)

    @classmethod
    def of(cls, name: str, products: list[ProductRecord]) -> Scenario:
        creates = [p.model_copy(update={"product_id": f"{name}-{p.product_id}", "crawled_at": T0}) for p in products]
        scenario = cls(name, creates)
        for n, product in enumerate(creates):
            if n % 4 == 1:
                price = (product.price or 10.0) * 2
                scenario.changes.append(product.model_copy(update={"image_urls": product.image_urls[:1],
                                                                   "price": price, "crawled_at": NEWER}))
                scenario.changes.append(product.model_copy(update={"price": price * 3, "crawled_at": OLDER}))
            elif n % 6 == 2:
                scenario.changes.append(Tombstone(site=product.site, product_id=product.product_id, reason="http_410",
                                                  crawled_at=NEWER))
        site = creates[0].site
        half = json.dumps({"site": site, "product_id": f"{name}-half"}).encode()  # no title, url or images
        scenario.malformed = [(f"{site}:{name}-junk", b"{not json"), (f"{site}:{name}-half", half)]
        return scenario

    @property
    def records(self) -> int:
        return len(self.creates) + len(self.changes) + len(self.malformed)

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.creates]

    def expected(self) -> dict[str, ProductRecord]:
        """The newest version of each product that was not deleted."""
        latest: dict[str, Versioned] = {}
        for version in [*self.creates, *self.changes]:
            if version.key not in latest or latest[version.key].crawled_at < version.crawled_at:
                latest[version.key] = version
        return {k: v for k, v in latest.items() if isinstance(v, ProductRecord)}

    def image_ids(self) -> list[str]:
        return [ref.image_id for p in self.creates for ref in p.images()]


@dataclass(frozen=True)
class Audit:
    lost: int  # an image or product of the final state missing from its store
    duplicated: int  # an image id stored more than once, a product key more than once
    stale: int  # a row of an older version (price, version) or one the final state no longer has
    dead_letters: int  # letters of this scenario other than its malformed records
    malformed_letters: int  # letters of its malformed records (all of them expected)

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.stale or self.dead_letters)


def audit(settings: Settings, scenario: Scenario) -> Audit:
    """Compare both stores with the scenario's final state, product by product and image by image."""
    expected = scenario.expected()
    want = {ref.image_id: record.price if record.price is not None else -1.0
            for record in expected.values() for ref in record.images()}
    vectors, metadata = build_vector_store(settings, dim=embedder_dim(settings)), build_metadata_store(settings)
    try:
        client = vectors.client  # type: ignore[attr-defined]
        rows = client.query(settings.collection, filter=f"product_key in {json.dumps(scenario.keys)}",
                            output_fields=["image_id", "price"], limit=16_384, consistency_level="Strong")
        docs = metadata.get(scenario.keys)
        site = SearchFilter(site=scenario.creates[0].site)
        solr_keys = [r.key for r in metadata.query(where=site, limit=10_000) if r.key in set(scenario.keys)]
    finally:
        vectors.close()
        metadata.close()
    stored = {row["image_id"]: float(row["price"]) for row in rows}
    stale = sum(1 for image, price in stored.items() if image not in want or abs(price - want[image]) > 1e-3)
    stale += sum(1 for key, r in docs.items() if key not in expected or r.crawled_at != expected[key].crawled_at
                 or r.price != expected[key].price)
    lost = len(set(want) - set(stored)) + len(set(expected) - set(docs))
    duplicated = (len(rows) - len(stored)) + (len(solr_keys) - len(set(solr_keys)))
    letters = [parse_letter(m).rejection for m in read_topic(settings, settings.dead_letter_topic)]
    malformed_keys = {key for key, _ in scenario.malformed}
    mine = [r for r in letters if r.product_key in set(scenario.keys) | malformed_keys]
    malformed = sum(1 for r in mine if r.product_key in malformed_keys and r.reason == "invalid_record")
    return Audit(lost=lost, duplicated=duplicated, stale=stale, dead_letters=len(mine) - malformed,
                 malformed_letters=malformed)
