"""What differs between shops, as one YAML file per site: start URLs, domains, selector overrides, rate limits."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SITE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")  # no ":": it separates site and product id in product keys


class Selectors(BaseModel):
    """CSS selectors (or XPath when starting with `/` or `(`) that override or complete the generic extraction.

    Text fields take the first match's text (or `@content`/`@href`/`@value`); `images` takes every matched `<img>`,
    `<source>` or `<a>` element and keeps the largest variant of each.
    """

    model_config = ConfigDict(extra="forbid")

    product_id: str | None = None
    title: str | None = None
    brand: str | None = None
    price: str | None = None
    currency: str | None = None
    category: str | None = None
    colour: str | None = None
    availability: str | None = None
    description: str | None = None
    images: str | None = None


class RateLimits(BaseModel):
    """Politeness: the crawler never goes faster than this, and AutoThrottle slows it further when the shop is slow."""

    model_config = ConfigDict(extra="forbid")

    download_delay_s: float = Field(0.5, ge=0)
    concurrency_per_domain: int = Field(2, ge=1, le=32)
    autothrottle: bool = True
    autothrottle_target_concurrency: float = Field(1.0, gt=0)
    autothrottle_max_delay_s: float = Field(30.0, gt=0)
    retry_times: int = Field(3, ge=0, le=10)
    retry_first_delay_s: float = Field(1.0, ge=0)  # the site waits this after a failure, doubling per try
    retry_max_delay_s: float = Field(120.0, ge=0)  # the longest wait, Retry-After included
    timeout_s: float = Field(30.0, gt=0)


class SiteConfig(BaseModel):
    """One shop to crawl."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    start_urls: list[str] = Field(min_length=1)
    allowed_domains: list[str] = Field(default_factory=list)  # empty: the hosts of the start URLs
    sitemap_urls: list[str] = Field(default_factory=list)
    follow: list[str] = Field(default_factory=list)  # regexes a followed link must match (empty: every link)
    deny: list[str] = Field(default_factory=list)  # regexes of links never followed (cart, login, ...)
    strip_query_params: list[str] = Field(default_factory=lambda: ["utm_source", "utm_medium", "utm_campaign",
                                                                    "ref", "sessionid"])
    max_depth: int = Field(10, ge=0)
    selectors: Selectors = Field(default_factory=Selectors)
    rate: RateLimits = Field(default_factory=RateLimits)
    allow_private: bool = False  # fetch private/loopback/link-local addresses (test shops, intranets)
    user_agent: str | None = None  # None: the platform's crawler user agent

    @field_validator("name")
    @classmethod
    def _site_name(cls, name: str) -> str:
        if not SITE_NAME.match(name):
            raise ValueError(f"site name must match {SITE_NAME.pattern}: {name!r}")
        return name

    @field_validator("start_urls", "sitemap_urls")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if urlparse(url).scheme not in ("http", "https") or not urlparse(url).hostname:
                raise ValueError(f"not an http(s) URL: {url!r}")
        return urls

    @property
    def domains(self) -> list[str]:
        return self.allowed_domains or sorted({urlparse(u).hostname or "" for u in self.start_urls} - {""})

    @classmethod
    def load(cls, path: Path) -> SiteConfig:
        """Read and validate a YAML site config; raises `ValueError` naming the file and the bad fields."""
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            return cls.model_validate(data)
        except (yaml.YAMLError, ValidationError) as exc:
            raise ValueError(f"{path}: {exc}") from exc

    @classmethod
    def for_url(cls, url: str) -> SiteConfig:
        """A config for crawling one shop from its home page, sitemap included, with default settings."""
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        origin = f"{parsed.scheme}://{parsed.netloc}"
        name = parsed.netloc.rsplit("@", 1)[-1].lower().replace(":", "-")  # host:port -> host-port
        return cls(name=name, start_urls=[url], sitemap_urls=[f"{origin}/sitemap.xml"])
