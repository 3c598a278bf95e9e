"""A content hash per product, so an unchanged product is not sent again while a changed price or image set is; and
the product found at each page, so a page that answers 404 or 410 later names the product to delete."""

from __future__ import annotations

import hashlib
import json

from snapmode.records import ProductRecord, Tombstone

_COMPARED = ("title", "brand", "category", "colour", "price", "currency", "availability", "description",
             "image_urls")


def content_hash(record: ProductRecord) -> str:
    """What a buyer sees of the product; the URL it was found at and the crawl time do not count."""
    data = record.model_dump(mode="json", include=set(_COMPARED))
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]


class ContentHashes:
    """Hashes of the products already sent, in the Redis hash `snapmode:crawl:<site>:content`, or in memory.

    `claim` marks a product as on its way for this run, so the same product found on several pages goes out once;
    `remember` stores its hash once the sink confirmed delivery, `release` undoes a claim whose send failed.
    """

    def __init__(self, site: str, redis=None) -> None:  # type: ignore[no-untyped-def]
        self.redis = redis
        self.key = f"snapmode:crawl:{site}:content"
        self.pages_key = f"snapmode:crawl:{site}:pages"  # page URL -> product key
        self._memory: dict[str, str] = {}
        self._pages: dict[str, str] = {}
        self._claimed: dict[str, str] = {}

    def claim(self, record: ProductRecord) -> bool:
        """True when the product is new or changed and nobody in this run claimed this version yet."""
        digest = content_hash(record)
        if self._claimed.get(record.key) == digest or self._stored(record.key) == digest:
            return False
        self._claimed[record.key] = digest
        return True

    def remember(self, record: ProductRecord) -> None:
        digest = content_hash(record)
        if self.redis is None:
            self._memory[record.key] = digest
            self._pages[record.url] = record.key
        else:
            self.redis.hset(self.key, record.key, digest)
            self.redis.hset(self.pages_key, record.url, record.key)

    def product_at(self, url: str) -> str | None:
        """The key of the product last sent from the page at `url`, if any."""
        if self.redis is None:
            return self._pages.get(url)
        value = self.redis.hget(self.pages_key, url)
        return value.decode() if isinstance(value, bytes) else value

    def forget(self, tombstone: Tombstone) -> None:
        """The product was deleted: if it comes back, it is sent again."""
        if self.redis is None:
            self._memory.pop(tombstone.key, None)
            if tombstone.url is not None:
                self._pages.pop(tombstone.url, None)
        else:
            self.redis.hdel(self.key, tombstone.key)
            if tombstone.url is not None:
                self.redis.hdel(self.pages_key, tombstone.url)

    def release(self, record: ProductRecord) -> None:
        self._claimed.pop(record.key, None)

    def _stored(self, product_key: str) -> str | None:
        if self.redis is None:
            return self._memory.get(product_key)
        value = self.redis.hget(self.key, product_key)
        return value.decode() if isinstance(value, bytes) else value
