"""Products that left a shop's sitemap: a page listed in an earlier complete sitemap read and missing from
`crawls` complete reads in a row gets its product's tombstone.

State lives in Redis beside the content hashes (`snapmode:crawl:<site>:...`): the page URLs of the last complete
sitemap read, and a count of consecutive complete reads each page was missing from. Without Redis nothing outlives a
crawl, so nothing is counted.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import Any

from snapmode.logs import get_logger
from snapmode.records import Tombstone

log = get_logger("snapmode.crawlers")

REASON = "sitemap_absent"
_CHUNK = 5000  # URLs per SADD, so a large sitemap is not one huge command


class SitemapAbsence:
    """Counts, per page URL, the complete sitemap reads in a row that no longer listed it."""

    def __init__(self, site: str, redis: Any = None, *, crawls: int = 3) -> None:
        self.redis = redis
        self.crawls = crawls  # 0 turns it off
        self.listed_key = f"snapmode:crawl:{site}:sitemap"  # page URLs of the last complete read
        self.absent_key = f"snapmode:crawl:{site}:absent"  # page URL -> complete reads in a row without it

    @property
    def enabled(self) -> bool:
        return self.crawls > 0 and self.redis is not None

    def end_of_crawl(self, listed: Collection[str], *, complete: bool, product_at: Callable[[str], str | None],
                     live: Iterable[str] = ()) -> list[Tombstone]:
        """The tombstones due after one crawl whose sitemaps listed `listed`.

        `complete` is False when any sitemap failed or was cut short: then nothing is counted, as absence cannot be
        told from a failed read. A page in `live` yielded a product this crawl (found by a link), so it is not gone.
        A tombstone's delivery makes `product_at` forget the page; the next crawl then drops it from the counts, so a
        failed send is retried and a delivered one is not repeated.
        """
        if not self.enabled or not complete:
            return []
        present = set(listed) | set(live)
        before = {_text(u) for u in self.redis.smembers(self.listed_key)}
        counted = {_text(u) for u in self.redis.hkeys(self.absent_key)}
        tombstones: list[Tombstone] = []
        for url in sorted((before | counted) - present):
            key = product_at(url)
            if key is None:  # never a product page, or its tombstone was delivered: forget it
                self.redis.hdel(self.absent_key, url)
                continue
            count = int(self.redis.hincrby(self.absent_key, url, 1))
            if count >= self.crawls:
                tombstone = Tombstone.of_key(key, reason=REASON).model_copy(update={"url": url})
                log.info("crawl.sitemap_absent", key=key, url=url, crawls=count)
                tombstones.append(tombstone)
        tracked = before | counted
        self._store(set(listed) | (present & tracked), came_back=present & counted)  # a live page stays tracked
        return tombstones

    def _store(self, listed: set[str], *, came_back: set[str]) -> None:
        """This read becomes the last complete one; pages listed (or live) again start over from zero."""
        pipe = self.redis.pipeline()
        pipe.delete(self.listed_key)
        urls = sorted(listed)
        for start in range(0, len(urls), _CHUNK):
            pipe.sadd(self.listed_key, *urls[start:start + _CHUNK])
        if came_back:
            pipe.hdel(self.absent_key, *came_back)
        pipe.execute()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
