"""Middlewares and config built directly, without a crawl: address policy, redirect limits, site configs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from snapmode.crawlers.middlewares.address import AddressPolicyMiddleware, AddressRefused
from snapmode.crawlers.middlewares.redirects import BoundedRedirectMiddleware, RedirectRefused
from snapmode.crawlers.siteconfig import SiteConfig

EXAMPLE = Path(__file__).parents[2] / "crawlers" / "sites" / "example.yaml"


@pytest.mark.parametrize("url", ["http://127.0.0.1/", "http://10.1.2.3/", "http://192.168.0.7:8080/x",
                                 "http://169.254.169.254/latest/meta-data", "http://[::1]/", "http://localhost/"])
def test_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(AddressRefused):
        AddressPolicyMiddleware().process_request(Request(url))
    assert AddressPolicyMiddleware(allow_private=True).process_request(Request(url)) is None


def test_public_addresses_pass() -> None:
    assert AddressPolicyMiddleware().process_request(Request("http://93.184.215.14/")) is None


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://shop.example/a.jpg", "data:text/plain,hi", "s3://b/k"])
def test_only_http_and_https_are_crawled(url: str) -> None:
    for middleware in (AddressPolicyMiddleware(), AddressPolicyMiddleware(allow_private=True)):
        with pytest.raises(AddressRefused) as err:
            middleware.process_request(Request(url))
        assert err.value.reason == "bad_scheme"


def test_a_verdict_is_kept_for_its_ttl_then_checked_again() -> None:
    answers = {"shop.test": ["93.184.215.14"]}
    asked: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return answers[host]

    middleware = AddressPolicyMiddleware(ttl_s=0.2, resolver=resolver)
    middleware.process_request(Request("https://shop.test/a"))
    answers["shop.test"] = ["10.0.0.1"]  # the name moves to a private address
    middleware.process_request(Request("https://shop.test/b"))  # within the TTL: the verdict stands
    time.sleep(0.25)
    with pytest.raises(AddressRefused) as err:
        middleware.process_request(Request("https://shop.test/c"))
    assert err.value.reason == "private_address" and asked == ["shop.test", "shop.test"]


def test_a_name_that_does_not_resolve_is_refused_and_asked_again_next_time() -> None:
    asked: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        raise OSError("Name or service not known")

    middleware = AddressPolicyMiddleware(resolver=resolver)
    for _ in range(2):
        with pytest.raises(AddressRefused) as err:
            middleware.process_request(Request("https://nowhere.test/"))
        assert err.value.reason == "dns"
    assert len(asked) == 2


def redirect_middleware(max_times: int = 3) -> BoundedRedirectMiddleware:
    crawler = get_crawler(settings_dict={"REDIRECT_MAX_TIMES": max_times})
    crawler.spider = crawler._create_spider("t")
    return BoundedRedirectMiddleware.from_crawler(crawler)


def follow(mw: BoundedRedirectMiddleware, request: Request, location: str) -> Request:
    response = Response(request.url, status=302, headers={"Location": location}, request=request)
    return mw.process_response(request, response)  # type: ignore[return-value]


def test_redirect_loop_is_stopped_at_the_first_repeat() -> None:
    mw = redirect_middleware()
    hop = follow(mw, Request("http://s.example/a"), "/b")
    assert hop.url == "http://s.example/b"
    with pytest.raises(RedirectRefused) as err:
        follow(mw, hop, "/a")
    assert err.value.reason == "redirect_loop"


def test_redirect_chains_are_bounded() -> None:
    mw = redirect_middleware(max_times=2)
    request = Request("http://s.example/0")
    for i in range(1, 3):
        request = follow(mw, request, f"/{i}")
    with pytest.raises(RedirectRefused) as err:
        follow(mw, request, "/3")
    assert err.value.reason == "too_many_redirects"


def test_example_config_is_valid_and_polite() -> None:
    site = SiteConfig.load(EXAMPLE)
    assert site.domains == ["shop.example.com"] and not site.allow_private
    assert site.rate.download_delay_s > 0 and site.rate.autothrottle


def test_bad_configs_say_what_is_wrong(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: 'my shop!'\nstart_urls: ['ftp://x']\nspeed: 3\n")
    with pytest.raises(ValueError, match="bad.yaml") as err:
        SiteConfig.load(bad)
    assert "name" in str(err.value) and "start_urls" in str(err.value) and "speed" in str(err.value)
    assert SiteConfig.for_url("https://Shop.Example:8443/women").name == "shop.example-8443"
