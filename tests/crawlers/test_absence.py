"""A product page missing from N complete sitemap reads in a row gets one tombstone; a partial read counts nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy.http import Response
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from snapmode.config import Settings
from snapmode.crawlers.absence import SitemapAbsence
from snapmode.crawlers.run import build_job, crawl_deferred
from snapmode.crawlers.siteconfig import SiteConfig
from snapmode.crawlers.sinks import CallableSink
from snapmode.crawlers.spiders.product import ProductSpider
from snapmode.records import Tombstone
from tests.crawlers.conftest import jsonld_config
from tests.crawlers.shops import Shop, jsonld_product, page

PAGES = {"https://shop.example/p/1": "shop:P1", "https://shop.example/p/2": "shop:P2"}
P1, P2 = PAGES


def tracker(redis: Any, crawls: int = 3) -> SitemapAbsence:
    return SitemapAbsence("shop", redis, crawls=crawls)


def read(absence: SitemapAbsence, listed: set[str], *, complete: bool = True, pages: dict[str, str] = PAGES,
         live: set[str] | None = None) -> list[Tombstone]:
    return absence.end_of_crawl(listed, complete=complete, product_at=pages.get, live=live or set())


def test_the_count_reaches_n_over_n_crawls_and_sends_one_tombstone(redis: Any) -> None:
    absence, pages = tracker(redis), dict(PAGES)
    assert read(absence, {P1, P2}, pages=pages) == []
    assert read(absence, {P1}, pages=pages) == [] and read(absence, {P1}, pages=pages) == []
    [tombstone] = read(absence, {P1}, pages=pages)  # the third complete read in a row without P2
    assert (tombstone.key, tombstone.url, tombstone.reason) == ("shop:P2", P2, "sitemap_absent")

    del pages[P2]  # what delivering the tombstone does (ContentHashes.forget): the page names no product now
    assert read(absence, {P1}, pages=pages) == []
    assert redis.hlen(absence.absent_key) == 0 and read(absence, {P1}, pages=pages) == []


def test_an_unsent_tombstone_is_sent_again_next_crawl(redis: Any) -> None:
    absence = tracker(redis, crawls=1)
    read(absence, {P1, P2})
    assert [t.key for t in read(absence, {P1})] == ["shop:P2"]
    assert [t.key for t in read(absence, {P1})] == ["shop:P2"]  # the page still names the product: not delivered


def test_a_page_listed_again_starts_over(redis: Any) -> None:
    absence = tracker(redis)
    read(absence, {P1, P2})
    read(absence, {P1})
    read(absence, {P1})
    assert read(absence, {P1, P2}) == []  # back in the sitemap: its count is reset
    assert read(absence, {P1}) == [] and read(absence, {P1}) == []
    assert [t.key for t in read(absence, {P1})] == ["shop:P2"]


def test_a_page_found_by_a_link_is_not_gone(redis: Any) -> None:
    absence = tracker(redis, crawls=2)
    read(absence, {P1, P2})
    assert read(absence, {P1}) == []
    assert read(absence, {P1}, live={P2}) == []  # still served a product this crawl: it resets
    assert read(absence, {P1}) == []
    assert [t.key for t in read(absence, {P1})] == ["shop:P2"]


def test_a_partial_sitemap_read_counts_nothing(redis: Any) -> None:
    absence = tracker(redis, crawls=2)
    read(absence, {P1, P2})
    for _ in range(5):
        assert read(absence, set(), complete=False) == []
    assert redis.hlen(absence.absent_key) == 0
    assert redis.smembers(absence.listed_key) == {P1.encode(), P2.encode()}  # the last complete read is kept


def test_zero_turns_it_off(redis: Any) -> None:
    absence = tracker(redis, crawls=0)
    for listed in ({P1, P2}, {P1}, {P1}, {P1}, set()):
        assert read(absence, listed) == []
    assert not redis.exists(absence.listed_key, absence.absent_key)


def test_without_redis_nothing_is_counted() -> None:
    absence = SitemapAbsence("shop", None, crawls=1)
    assert read(absence, {P1, P2}) == [] and read(absence, set()) == []


# --- the spider's sitemap read -------------------------------------------------------------------------------------

def urlset(*urls: str) -> bytes:
    entries = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
    return (f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{entries}</urlset>").encode()


def sitemapindex(*urls: str) -> bytes:
    entries = "".join(f"<sitemap><loc>{u}</loc></sitemap>" for u in urls)
    return (f'<?xml version="1.0" encoding="UTF-8"?>'
            f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>').encode()


def spider() -> ProductSpider:
    crawler = get_crawler(ProductSpider)
    crawler.spider = crawler._create_spider(site=SiteConfig.for_url("https://shop.example/"), wiring=None)
    return crawler.spider  # type: ignore[return-value]


def response(request: Any, body: bytes) -> Response:
    return Response(request.url, body=body, request=request)


def test_a_sitemap_index_read_to_the_end_is_complete() -> None:
    reader = spider()
    index = reader._sitemap_request("https://shop.example/sitemap.xml")
    children = list(reader.parse_sitemap(response(index, sitemapindex("https://shop.example/a.xml",
                                                                       "https://shop.example/b.xml"))))
    assert not reader.sitemap_complete  # two nested sitemaps still to read
    list(reader.parse_sitemap(response(children[0], urlset("https://shop.example/p/1"))))
    assert not reader.sitemap_complete
    list(reader.parse_sitemap(response(children[1], urlset("https://shop.example/p/2"))))
    assert reader.sitemap_complete and reader.listed == {"https://shop.example/p/1", "https://shop.example/p/2"}


def test_a_broken_or_failed_sitemap_makes_the_read_partial() -> None:
    reader = spider()
    index = reader._sitemap_request("https://shop.example/sitemap.xml")
    good, broken = reader.parse_sitemap(response(index, sitemapindex("https://shop.example/a.xml",
                                                                      "https://shop.example/b.xml")))
    list(reader.parse_sitemap(response(good, urlset("https://shop.example/p/1"))))
    list(reader.parse_sitemap(response(broken, b"<urlset><url><loc>")))
    assert not reader.sitemap_complete

    reader = spider()
    request = reader._sitemap_request("https://shop.example/sitemap.xml")
    failure = Failure(ConnectionRefusedError("refused"))
    failure.request = request  # type: ignore[attr-defined]
    list(reader.on_error(failure))
    assert not reader.sitemap_complete


def test_a_site_without_sitemaps_never_reads_one_completely() -> None:
    assert not spider().sitemap_complete


# --- end to end, in a loopback shop --------------------------------------------------------------------------------

def test_a_product_gone_from_the_sitemap_is_deleted_after_n_crawls(reactor: Any, jsonld: Shop, redis: Any,
                                                                   tmp_path: Path) -> None:
    from scrapy.crawler import CrawlerRunner
    from twisted.internet.threads import blockingCallFromThread

    settings = Settings(data_dir=tmp_path, sitemap_absent_crawls=2, _env_file=None)  # type: ignore[call-arg]

    def crawl(run_id: str) -> tuple[Any, list[Any]]:
        sent: list[Any] = []
        job = build_job(jsonld_config(jsonld), settings, CallableSink(sent.append), redis=redis, allow_private=True,
                        run_id=run_id)
        return blockingCallFromThread(reactor, lambda: crawl_deferred(CrawlerRunner(job.scrapy), job)), sent

    jsonld.routes["/p/jl-9"] = page(jsonld_product("JL-9", "Sitemap Only Scarf", "15.00", ["/img/jl-1-a.jpg"]))
    with_scarf = jsonld.routes["/sitemap.xml"]
    status, kind, body, headers = with_scarf
    jsonld.routes["/sitemap.xml"] = (status, kind, body.replace(b"</urlset>", f"<url><loc>{jsonld.url('/p/jl-9')}"
                                                                              f"</loc></url></urlset>".encode()),
                                     headers)
    _, first = crawl("one")
    assert any(getattr(r, "product_id", None) == "JL-9" for r in first)

    jsonld.routes["/sitemap.xml"] = with_scarf  # the scarf leaves the sitemap; its page, linked from nowhere, stays
    second, out2 = crawl("two")
    assert second.products_deleted == 0 and not any(isinstance(r, Tombstone) for r in out2)

    jsonld.routes["/sitemap.xml"] = (500, "text/plain", b"down", {})  # a failed read: not counted
    _, out3 = crawl("three")
    assert not any(isinstance(r, Tombstone) for r in out3)

    jsonld.routes["/sitemap.xml"] = with_scarf
    fourth, out4 = crawl("four")
    assert [(r.key, r.reason, r.url) for r in out4 if isinstance(r, Tombstone)] == [
        ("jsonld-shop:JL-9", "sitemap_absent", jsonld.url("/p/jl-9"))]
    assert fourth.products_deleted == 1
    assert redis.hget("snapmode:crawl:jsonld-shop:content", "jsonld-shop:JL-9") is None  # sent again if it returns

    fifth, out5 = crawl("five")
    assert fifth.products_deleted == 0 and not any(isinstance(r, Tombstone) for r in out5)
