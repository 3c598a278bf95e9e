"""Count and log what went wrong on a page, with its URL and reason, in the crawl's stats."""

from __future__ import annotations

from typing import Literal

from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector

from snapmode.logs import get_logger

log = get_logger("snapmode.crawlers")

ERRORS = "snapmode/errors/"
WARNINGS = "snapmode/warnings/"
REFUSED = object()
"""A Scrapy signal the spider sends for each request or page it gives up on, with `reason` and `url` (records that the
pipelines drop are Scrapy's own `item_dropped`, with a `Dropped` exception)."""


class Dropped(DropItem):
    """A record an item pipeline dropped, with its reason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def report(stats: StatsCollector, reason: str, url: str, detail: str = "",
           level: Literal["error", "warning"] = "error") -> None:
    """One problem: `snapmode/errors/<reason>` (or warnings) goes up by one and a log line names the URL."""
    stats.inc_value((ERRORS if level == "error" else WARNINGS) + reason)
    emit = log.warning if level == "error" else log.info
    emit("crawl.problem", level=level, reason=reason, url=url, detail=detail[:300])


def counts(stats: dict[str, object], prefix: str) -> dict[str, int]:
    """`{reason: count}` for one prefix (`ERRORS` or `WARNINGS`)."""
    return {k[len(prefix):]: int(v) for k, v in stats.items() if k.startswith(prefix)}  # type: ignore[call-overload]
