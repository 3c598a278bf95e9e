"""The metadata stores' version rule: which records and deletions replace what a store holds under their keys."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from snapmode.records import ProductRecord, newest_per_key


def replacing(records: Iterable[ProductRecord], live: Mapping[str, datetime],
              deleted: Mapping[str, datetime]) -> list[ProductRecord]:
    """The newest record of each key among `records` (the last on a tie), where it is no older than the stored
    product (one as new is a replay, written again) and newer than the product's deletion; `live` and `deleted` are
    the stored versions and deletion times by key."""
    return [r for r in newest_per_key(records).values() if not (r.key in live and live[r.key] > r.crawled_at)
            and not (r.key in deleted and deleted[r.key] >= r.crawled_at)]


def deleting(keys: Iterable[str], live: Mapping[str, datetime], when: datetime) -> list[str]:
    """The keys, once each, that a deletion as of `when` removes: all but those stored at a newer version."""
    return [k for k in dict.fromkeys(keys) if not (k in live and live[k] > when)]
