"""The product record that crawlers publish and every pipeline consumes, its tombstone, and the id of each image.

A record's `crawled_at` is its version: a store never replaces a newer version of a product (or of its deletion) with
an older one, so replays and out-of-order deliveries cannot bring stale data back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

SCHEMA_VERSION = 1


def as_utc(value: datetime) -> datetime:
    """A version in UTC (a naive time is taken as UTC), so versions compare and serialise alike everywhere."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


Version = Annotated[datetime, AfterValidator(as_utc)]  # a record's or a tombstone's crawl time, in UTC


class ProductRecord(BaseModel):
    """One product as seen on one shop at one time (schema version 1).

    `image_urls` are http(s) or file URLs; their order is the shop's gallery order. File URLs are read only by local
    ingestion of the user's own folders (`FetchOptions.allow_files`); everywhere else they are refused.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    site: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")  # ":" ends the site in a product key
    product_id: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=1, max_length=2048)
    title: str = Field(min_length=1, max_length=500)
    brand: str | None = Field(None, max_length=200)
    category: str | None = Field(None, max_length=200)
    colour: str | None = Field(None, max_length=100)
    price: float | None = Field(None, ge=0, allow_inf_nan=False)
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    availability: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=5000)
    image_urls: tuple[str, ...] = Field(min_length=1, max_length=100)
    crawled_at: Version = Field(default_factory=lambda: datetime.now(timezone.utc))

    @field_validator("image_urls")
    @classmethod
    def _unique_urls(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        for url in urls:
            if not url.startswith(("http://", "https://", "file://")):
                raise ValueError(f"image URL must be http(s) or file: {url[:200]!r}")
        return tuple(dict.fromkeys(urls))

    @property
    def key(self) -> str:
        """The product's key across the platform: unique per shop."""
        return product_key(self.site, self.product_id)

    def images(self) -> list[ImageRef]:
        return [ImageRef(image_id=image_id(self.site, self.product_id, url), url=url, position=i)
                for i, url in enumerate(self.image_urls)]

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, raw: str | bytes) -> ProductRecord:
        """Parse and validate; raises `InvalidRecord` with a readable reason."""
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            raise InvalidRecord(_summarise(exc)) from exc

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProductRecord:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise InvalidRecord(_summarise(exc)) from exc


class Tombstone(BaseModel):
    """The deletion of one product, as of `crawled_at` (its version): the shop no longer lists it (a 404 or 410),
    or an operator removed it. Published on the records topic under the product's key, like its records."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    kind: Literal["tombstone"] = "tombstone"
    site: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")
    product_id: str = Field(min_length=1, max_length=200)
    url: str | None = Field(None, max_length=2048)
    reason: str = Field("deleted", max_length=200)
    crawled_at: Version = Field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def key(self) -> str:
        return product_key(self.site, self.product_id)

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def of_key(cls, key: str, *, reason: str = "deleted", at: datetime | None = None) -> Tombstone:
        """The tombstone of a product key `site:product_id`; raises `InvalidRecord` for a key without a site."""
        site, sep, pid = key.partition(":")
        if not sep:
            raise InvalidRecord(f"product key {key[:200]!r}: want site:product_id")
        try:
            return cls(site=site, product_id=pid, reason=reason,
                       **({"crawled_at": at} if at is not None else {}))
        except ValidationError as exc:
            raise InvalidRecord(f"product key {key[:200]!r}: {_summarise(exc)}") from exc


Versioned = ProductRecord | Tombstone  # what the records topic carries
V = TypeVar("V", ProductRecord, Tombstone)


def newest_per_key(items: Iterable[V]) -> dict[str, V]:
    """The newest version of each product among `items`, by key (the last one wins a tie)."""
    latest: dict[str, V] = {}
    for item in items:
        if item.key not in latest or latest[item.key].crawled_at <= item.crawled_at:
            latest[item.key] = item
    return latest


def parse_versioned(raw: str | bytes) -> Versioned:
    """A record or a tombstone from its JSON (a tombstone says `"kind": "tombstone"`); raises `InvalidRecord`."""
    try:
        fields = json.loads(raw)
    except ValueError as exc:
        raise InvalidRecord(f"record: not JSON ({exc})") from exc
    if isinstance(fields, dict) and fields.get("kind") == "tombstone":
        try:
            return Tombstone.model_validate(fields)
        except ValidationError as exc:
            raise InvalidRecord(_summarise(exc)) from exc
    return ProductRecord.from_json(raw)


class ImageRef(BaseModel):
    """One image of a product, with its deterministic id."""

    model_config = ConfigDict(frozen=True)

    image_id: str
    url: str
    position: int


class InvalidRecord(ValueError):
    """A record that does not match the schema; the message says which fields and why."""


def product_key(site: str, product_id: str) -> str:
    return f"{site}:{product_id}"


def image_id(site: str, product_id: str, image_url: str) -> str:
    """A stable 32-hex id for one image of one product: a replay upserts the same id instead of duplicating."""
    digest = hashlib.sha256(json.dumps([site, product_id, image_url]).encode()).hexdigest()
    return digest[:32]


def _summarise(exc: ValidationError) -> str:
    parts = [f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors()[:5]]
    return "; ".join(parts)
