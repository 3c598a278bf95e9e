"""The one settings object: every knob, read from `SNAPMODE_*` env vars or an optional env file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, computed_field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """SnapMode configuration. Each field is the env var `SNAPMODE_<FIELD>` (case-insensitive).

    An env file is read from `SNAPMODE_ENV_FILE` (default `snapmode.env` in the working directory) when it exists;
    real env vars win over it.
    """

    model_config = SettingsConfigDict(env_prefix="SNAPMODE_", env_file="snapmode.env", extra="ignore")

    # Where the embedded stores, caches and the sample catalog live. Two runs with different data dirs share nothing.
    data_dir: Path = Path(".snapmode")
    mode: Literal["embedded", "cluster"] = "embedded"
    log_level: str = "INFO"
    log_json: bool = False

    # Model
    embedder: Literal["backbone", "cbir-gan"] = "backbone"
    model_checkpoint: Path | None = None  # CBIR-GAN checkpoint dir; None uses the one shipped in model/weights
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    embed_batch_size: int = Field(32, ge=1, le=1024)

    # Images: limits that protect every entry point (upload, fetch, ingest)
    max_image_bytes: int = Field(20 * 1024 * 1024, ge=1024)
    max_image_pixels: int = Field(40_000_000, ge=64 * 64)  # width * height; larger is refused before decoding
    max_image_side: int = Field(256, ge=64)  # decoded images are shrunk to fit this before embedding
    fetch_timeout_s: float = Field(10.0, gt=0)
    fetch_workers: int = Field(8, ge=1)
    allow_private_urls: bool = False  # fetching http(s) images from private/loopback addresses

    # Stores
    collection: str = "products"
    milvus_uri: str | None = None  # None: embedded milvus-lite file in data_dir; else e.g. http://127.0.0.1:19530
    solr_url: str | None = None  # None: embedded SQLite store in data_dir; else e.g. http://127.0.0.1:8983/solr/products

    # Queue
    kafka_bootstrap: str = "127.0.0.1:9092"
    records_topic: str = "snapmode.products"
    dead_letter_topic: str = "snapmode.dead-letter"

    # Cache
    redis_url: str | None = None

    # API
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    search_k_max: int = Field(100, ge=1)

    # Sample catalog used by `snapmode demo`
    demo_products: int = Field(300, ge=1)
    demo_views: int = Field(4, ge=2)
    demo_seed: int = 7

    @computed_field  # type: ignore[prop-decorator]
    @property
    def milvus_lite_path(self) -> Path:
        return self.data_dir / "vectors.db"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "metadata.sqlite"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def demo_catalog_dir(self) -> Path:
        return self.data_dir / "catalog"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    import os

    env_file = os.environ.get("SNAPMODE_ENV_FILE", "snapmode.env")
    return Settings(_env_file=env_file)  # type: ignore[call-arg]
