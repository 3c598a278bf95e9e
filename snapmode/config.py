"""The one settings object: every knob, read from `SNAPMODE_*` env vars or an optional env file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from limits import parse_many
from pydantic import Field, SecretStr, computed_field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

EmbedRuntime = Literal["auto", "torch", "onnxruntime", "openvino"]
WEAK_KEYS = {"changeme", "change-me-please", "secret", "password", "example", "snapmode"}
# Never shared with other processes (the Storm topology config): each reads its own environment for them, the
# secrets and the device of its own machine (a GPU supervisor embeds on CUDA whatever the submitter had).
LOCAL_FIELDS = frozenset({"solr_password", "redis_password", "admin_keys", "device"})


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
    # null: a deterministic vector per image at no cost, for `snapmode bench ingest --embedder null` only
    embedder: Literal["backbone", "cbir-gan", "null"] = "cbir-gan"
    model_checkpoint: Path | None = None  # CBIR-GAN checkpoint dir; None uses the one shipped in model/weights
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    # What runs the CBIR-GAN: `auto` is torch on CUDA and, on the CPU, the checkpoint's exported int8 graph
    # (`snapmode export`) in ONNX Runtime, or torch with a warning when the checkpoint has none.
    embed_runtime: EmbedRuntime = "auto"
    embed_batch_size: int = Field(32, ge=1, le=1024)

    # Images: limits that protect every entry point (upload, fetch, ingest)
    max_image_bytes: int = Field(20 * 1024 * 1024, ge=1024)
    max_image_pixels: int = Field(40_000_000, ge=64 * 64)  # width * height; larger is refused before decoding
    max_image_side: int = Field(256, ge=64)  # decoded images are shrunk to fit this before embedding
    max_decode_bytes: int = Field(160_000_000, ge=1_000_000)  # memory one decode may take (pixels x bytes/pixel)
    concurrent_decodes: int = Field(2, ge=1)  # decodes at once per process: bounds their memory to this many
    decode_wait_s: float = Field(10.0, gt=0)  # a decode that waits longer for its turn is refused (API: 503)
    decode_timeout_s: float = Field(10.0, gt=0)  # a decode that runs longer is refused (`decode_timeout`, API: 422)
    max_jpeg_scans: int = Field(100, ge=1)  # a JPEG of more is refused unread (`scan_bomb`): each scan walks every block
    fetch_timeout_s: float = Field(10.0, gt=0)  # each connect, read or write of an image fetch
    fetch_deadline_s: float = Field(30.0, gt=0)  # one image fetch in all: redirects, headers and body
    fetch_workers: int = Field(8, ge=1)
    fetch_per_host: int = Field(4, ge=1)  # image fetches in flight to one host, per process: no shop is flooded
    allow_private_urls: bool = False  # fetching http(s) images from private/loopback addresses
    # Directories (comma-separated) whose files published records may name as file:// images: a cluster indexing a
    # catalog on its own disk. Empty: records and the API never read local files.
    file_roots: Annotated[list[Path], NoDecode] = []

    # Stores
    collection: str = "products"
    # The vector index of a new collection (an existing one keeps its own until `snapmode reindex`): HNSW, or IVF_SQ8
    # at about a quarter of HNSW's memory, IVF_FLAT, FLAT (exact); see snapmode/stores/vector_index.py.
    vector_index: Literal["HNSW", "IVF_SQ8", "IVF_FLAT", "FLAT"] = "HNSW"
    hnsw_m: int = Field(16, ge=4, le=64)  # graph links per vector
    hnsw_ef_construction: int = Field(200, ge=8, le=512)  # candidates while building
    ivf_nlist: int = Field(1024, ge=1, le=65_536)  # clusters
    search_ef: int = Field(128, ge=1, le=32_768)  # HNSW: candidates each search keeps (at least k)
    search_nprobe: int = Field(32, ge=1, le=65_536)  # IVF: clusters each search scans
    # A photo query asks the index for this many images per product wanted (products have several images)
    search_oversample: int = Field(4, ge=1, le=32)
    milvus_uri: str | None = None  # None: embedded milvus-lite file in data_dir; else e.g. http://127.0.0.1:19530
    solr_url: str | None = None  # None: embedded SQLite store in data_dir; else e.g. http://127.0.0.1:8983/solr/products
    # Credentials of the real services, from the environment only; unset: none sent (the native cluster's default).
    solr_username: str = "snapmode"  # Solr basic auth user, used when `solr_password` is set
    solr_password: SecretStr | None = None
    redis_password: SecretStr | None = None  # sent with every Redis connection (the URL holds no secret)

    # Queue
    kafka_bootstrap: str = "127.0.0.1:9092"
    records_topic: str = "snapmode.products"
    dead_letter_topic: str = "snapmode.dead-letter"
    # Where the topology parks a record whose images failed transiently until it is due again; one per topology (its
    # consumer group reads it), so None means "<topology_name>.retry" (`retry_topic_name`)
    retry_topic: str | None = None
    # Every producer and consumer (crawler, publish, spout, dead letters) is built from these (snapmode/queue.py)
    kafka_client_id: str = "snapmode"
    kafka_timeout_s: float = Field(30.0, gt=0)  # connecting, a blocked send and each request to the broker
    kafka_linger_ms: int = Field(20, ge=0)  # how long a producer gathers records into one batch

    # Storm ingestion topology: parallelism per component and batching, so operators scale without code changes
    nimbus_host: str = "127.0.0.1"  # the port is `nimbus_port`, with the native cluster's below
    topology_name: str = "snapmode-ingest"
    topology_workers: int = Field(1, ge=1)  # worker JVMs
    spout_parallelism: int = Field(1, ge=1)  # Kafka consumers; more than the topic's partitions is wasted
    fetch_parallelism: int = Field(4, ge=1)
    embed_parallelism: int = Field(1, ge=1)
    writer_parallelism: int = Field(1, ge=1)  # per store
    writer_batch_size: int = Field(64, ge=1)
    batch_wait_s: int = Field(1, ge=1)  # the longest a partial batch waits (tick tuple interval)
    max_spout_pending: int = Field(64, ge=1)  # records in flight per spout task
    # Tries of a record before the spout dead-letters it as `max_attempts`; 0: never. Bolts dead-letter what can never
    # succeed themselves, so a failed tuple means a transient failure (a store away): by default it replays until done.
    max_attempts: int = Field(0, ge=0)
    message_timeout_s: int = Field(120, ge=5)  # a record not fully written by then is replayed

    # Retries of transient failures (a store or the broker away, an image host's 503), snapmode/retries.py: the delay
    # starts at `retry_first_delay_s` and doubles up to `retry_max_delay_s`. One store write retries for at most
    # `store_retry_budget_s`, then hands its record back (the spout replays it later, with the same growing delay).
    retry_first_delay_s: float = Field(0.5, ge=0)
    retry_max_delay_s: float = Field(30.0, ge=0)
    store_retry_budget_s: float = Field(30.0, ge=0)
    # A record whose images failed transiently (their host away, timeouts, 503) leaves the spout at once for the retry
    # topic and is fetched again after `fetch_retry_delay_s`, doubling per try up to `fetch_retry_max_delay_s`, while
    # the records behind it flow on. An image that keeps failing this long from its first failure is dead-lettered
    # alone with its reason and the rest of its product is indexed.
    fetch_retry_delay_s: float = Field(30.0, ge=0)
    fetch_retry_max_delay_s: float = Field(600.0, ge=0)
    fetch_retry_window_s: float = Field(3600.0, ge=0)
    # A breaker per image host in each fetch bolt process: after this many failures in a row (refused, timed out,
    # 5xx/429) the host's images are not fetched for `host_breaker_cooldown_s` (their records go back to the retry
    # topic untried), then one fetch probes the host and decides.
    host_breaker_failures: int = Field(5, ge=1)
    host_breaker_cooldown_s: float = Field(60.0, gt=0)
    solr_timeout_s: float = Field(10.0, gt=0)  # each request to Solr
    milvus_timeout_s: float = Field(30.0, gt=0)  # each Milvus call (pymilvus reconnects within it)
    # Near-duplicates: at ingestion a product with an image this similar (cosine) to an image of another product
    # already indexed is marked `duplicate_of` that product, and searches show it under its original. Measured for the
    # default CBIR-GAN in the README ("Near-duplicates"); another model needs its own. 0: nothing is marked.
    duplicate_similarity: float = Field(0.89, ge=0, le=1)
    # How a decoded image goes from the fetch bolt to the embed bolt: `inline` as JPEG in the tuple (through the worker
    # JVM and the multilang JSON twice), `local` as a raw file in `handoff_dir` on the worker's host, the tuple carrying
    # its name (fetch -> embed grouped local-or-shuffle: only for workers all on one host), `auto`: local with one worker.
    image_handoff: Literal["auto", "inline", "local"] = "auto"
    handoff_dir: Path | None = None  # None: /dev/shm (else the temp dir) / snapmode-handoff-<topology_name>

    # Cache
    redis_url: str | None = None  # None: search results are cached in process memory
    cache_ttl_s: int = Field(300, ge=0)  # 0 disables the search result cache
    cache_max_items: int = Field(1024, ge=1)  # size of the in-process cache

    # Crawler
    crawl_user_agent: str = "SnapModeBot/0.1 (+https://github.com/snapmode/snapmode)"
    crawl_max_redirects: int = Field(5, ge=0, le=20)
    crawl_address_ttl_s: float = Field(300.0, ge=0)  # how long the crawler trusts a host's public/private verdict
    # A product page missing from this many complete sitemap reads in a row gets a tombstone (needs Redis); 0: off
    sitemap_absent_crawls: int = Field(3, ge=0)

    # Native cluster (`snapmode cluster`): real services on 127.0.0.1, started from official artifacts
    cluster_dir: Path | None = None  # None: data_dir / "cluster" (configs, data, logs and PID files)
    artifacts_dir: Path | None = None  # None: infra/.artifacts (jars from Maven Central, git-ignored)
    java_home: Path | None = None  # None: java on PATH (Java 17+)
    cluster_start_timeout_s: float = Field(180.0, gt=0)  # per service, from launch to healthy
    kafka_port: int = Field(9092, ge=1, le=65535)
    kafka_controller_port: int = Field(9093, ge=1, le=65535)
    kafka_partitions: int = Field(4, ge=1)  # partitions of the records topic
    zookeeper_port: int = Field(2181, ge=1, le=65535)
    nimbus_port: int = Field(6627, ge=1, le=65535)
    storm_worker_ports: list[int] = [6700, 6701]
    solr_port: int = Field(8983, ge=1, le=65535)
    milvus_port: int = Field(19530, ge=1, le=65535)
    redis_port: int = Field(6379, ge=1, le=65535)

    # API
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    search_k_max: int = Field(100, ge=1)
    # Comma-separated keys; set: every route but the page, its images and /healthz needs one in `X-API-Key`.
    api_keys: Annotated[list[str], NoDecode] = []
    # Comma-separated keys for the admin routes (`DELETE /products/{key}`) in `X-Admin-Key`; unset: those routes are off.
    admin_keys: Annotated[list[str], NoDecode] = []
    max_concurrent_searches: int = Field(8, ge=1)  # more in flight are refused with 503 and Retry-After
    # Requests per client in the `limits` notation ("120/minute", "10/second;1000/hour"), kept in each API process's
    # memory; more are refused with 429 and Retry-After. The client is its API key when keys are set, else its
    # address. Unset: no limit.
    rate_limit: str | None = None
    search_offset_max: int = Field(1000, ge=0)  # deepest page start of a search or product listing
    hybrid_depth: int = Field(100, ge=1)  # products each ranking (photo, words) contributes to a hybrid search
    rrf_k: int = Field(60, ge=1)  # reciprocal rank fusion constant: a product scores 1 / (rrf_k + rank) per ranking
    # Photo searches that arrive together share one forward pass and one vector search (snapmode/batching.py): a
    # batch waits at most `query_batch_wait_ms` after its first query, only for queries still decoding or while fewer
    # are queued than the last batch held; 0: off.
    query_batch_wait_ms: float = Field(5.0, ge=0, le=1000)
    query_batch_max: int = Field(32, ge=1)
    query_batch_workers: int = Field(1, ge=1)  # batches formed and answered side by side
    torch_threads: int = Field(0, ge=0)  # intra-op threads of the model (torch or the runtime) in this process; 0: its default

    # Real-image development sets (`snapmode dataset build`): source packages are downloaded and unpacked here once
    package_cache_dir: Path | None = None  # None: data_dir / "packages"

    # Sample catalog used by `snapmode demo`
    demo_products: int = Field(300, ge=1)
    demo_views: int = Field(4, ge=2)
    demo_seed: int = 7

    @field_validator("file_roots", mode="before")
    @classmethod
    def _split_roots(cls, value: object) -> object:
        return [Path(p.strip()) for p in value.split(",") if p.strip()] if isinstance(value, str) else value

    @field_validator("api_keys", "admin_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        return [k.strip() for k in value.split(",") if k.strip()] if isinstance(value, str) else value

    @field_validator("rate_limit")
    @classmethod
    def _parse_rate_limit(cls, value: str | None) -> str | None:
        if value is not None and value.strip():
            parse_many(value)  # ValueError names the part it could not read
            return value.strip()
        return None

    @field_validator("api_keys", "admin_keys")
    @classmethod
    def _no_weak_keys(cls, keys: list[str]) -> list[str]:
        for key in keys:
            if len(key) < 16 or key.lower() in WEAK_KEYS:
                raise ValueError("each API key needs at least 16 characters and no placeholder "
                                 "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(24))')")
        return keys

    @property
    def solr_auth(self) -> tuple[str, str] | None:
        """(user, password) for Solr's basic auth, or None."""
        return (self.solr_username, self.solr_password.get_secret_value()) if self.solr_password else None

    @property
    def redis_secret(self) -> str | None:
        """The Redis password, or None."""
        return self.redis_password.get_secret_value() if self.redis_password else None

    def shareable(self) -> dict[str, object]:
        """The settings as JSON values for other processes (the Storm topology config), `LOCAL_FIELDS` left out."""
        return self.model_dump(mode="json", exclude=set(LOCAL_FIELDS))

    @classmethod
    def from_shared(cls, values: dict[str, object]) -> Settings:
        """Settings from `shareable()` values; `LOCAL_FIELDS` come from this process's environment."""
        return cls(**{k: v for k, v in values.items() if k not in LOCAL_FIELDS})  # type: ignore[arg-type]

    @field_validator("solr_password", "redis_password")
    @classmethod
    def _no_weak_passwords(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and (len(value := secret.get_secret_value()) < 12 or value.lower() in WEAK_KEYS):
            raise ValueError("a service password needs at least 12 characters and no placeholder "
                             "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(24))')")
        return secret

    @property
    def solr_core_url(self) -> str:
        """The Solr core: `solr_url`, or the native cluster's core named after the collection."""
        return self.solr_url or f"http://127.0.0.1:{self.solr_port}/solr/{self.collection}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def retry_topic_name(self) -> str:
        """The topology's retry topic: `retry_topic`, or "<topology_name>.retry"."""
        return self.retry_topic or f"{self.topology_name}.retry"

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
    def cluster_run_dir(self) -> Path:
        return self.cluster_dir or self.data_dir / "cluster"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def package_cache(self) -> Path:
        return self.package_cache_dir or self.data_dir / "packages"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def datasets_dir(self) -> Path:
        return self.data_dir / "datasets"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def image_cache_dir(self) -> Path:
        """Shop photos fetched for `snapmode train`, stored by content (see `pipeline/image_cache.py`)."""
        return self.data_dir / "image-cache"

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
