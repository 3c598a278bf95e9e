"""The one settings object: every knob, read from `SNAPMODE_*` env vars or an optional env file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from limits import parse_many
from pydantic import Field, SecretStr, computed_field, field_validator, model_validator
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

    model_config = SettingsConfigDict(env_prefix="SNAPMODE_", env_file="snapmode.env", extra="ignore",
                                      use_attribute_docstrings=True)

    # General
    data_dir: Path = Path(".snapmode")
    """Where the embedded stores, caches and the sample catalog live; two runs with different data dirs share
    nothing."""
    mode: Literal["embedded", "cluster"] = "embedded"
    """`embedded`: no servers, milvus-lite and SQLite in `data_dir`. `cluster`: the real services (Kafka, Storm,
    Milvus, Solr, Redis), at the native cluster's loopback ports unless their URLs are set; crawls, deletions and
    dead letters go through Kafka."""
    log_level: str = "INFO"
    """Lowest level logged: DEBUG, INFO, WARNING or ERROR."""
    log_json: bool = False
    """One JSON object per log line (for a log shipper) instead of readable lines."""

    # Model
    embedder: Literal["backbone", "cbir-gan", "null"] = "cbir-gan"
    """The model that embeds photos: the CBIR-GAN, its pretrained `backbone` alone, or `null` (a deterministic
    vector per image at no cost, for `snapmode bench ingest --embedder null` only)."""
    model_checkpoint: Path | None = None
    """A CBIR-GAN checkpoint directory; unset: the one shipped in model/weights."""
    device: str = "auto"
    """Where torch runs the model: auto, cpu, cuda or cuda:N."""
    embed_runtime: EmbedRuntime = "auto"
    """What runs the CBIR-GAN: `auto` is torch on CUDA and, on the CPU, the checkpoint's exported int8 graph
    (`snapmode export`) in ONNX Runtime, or torch with a warning when the checkpoint has none."""
    embed_batch_size: int = Field(32, ge=1, le=1024)
    """Images per forward pass when indexing."""

    # Images: limits that protect every entry point (upload, fetch, ingest)
    max_image_bytes: int = Field(20 * 1024 * 1024, ge=1024)
    """Largest image file accepted, in bytes."""
    max_image_pixels: int = Field(40_000_000, ge=64 * 64)
    """Largest width x height; a larger image is refused before decoding."""
    max_image_side: int = Field(256, ge=64)
    """Decoded images are shrunk to fit this many pixels a side before embedding."""
    max_decode_bytes: int = Field(160_000_000, ge=1_000_000)
    """Memory one decode may take (pixels x bytes per pixel)."""
    concurrent_decodes: int = Field(2, ge=1)
    """Decodes at once per process, which bounds their memory."""
    decode_wait_s: float = Field(10.0, gt=0)
    """A decode that waits longer for its turn is refused (API: 503)."""
    decode_timeout_s: float = Field(10.0, gt=0)
    """A decode that runs longer is refused (`decode_timeout`, API: 422)."""
    max_jpeg_scans: int = Field(100, ge=1)
    """A JPEG of more scans is refused unread (`scan_bomb`): each scan walks every block."""
    fetch_timeout_s: float = Field(10.0, gt=0)
    """Each connect, read or write of an image fetch."""
    fetch_deadline_s: float = Field(30.0, gt=0)
    """One image fetch in all: redirects, headers and body."""
    fetch_workers: int = Field(8, ge=1)
    """Image fetches in flight per process."""
    fetch_per_host: int = Field(4, ge=1)
    """Image fetches in flight to one host, per process, so that no shop is flooded."""
    allow_private_urls: bool = False
    """Fetch http(s) images from private, loopback and link-local addresses (a staging shop)."""
    file_roots: Annotated[list[Path], NoDecode] = []
    """Directories (comma-separated) whose files published records may name as file:// images: a cluster indexing a
    catalog on its own disk. Empty: records and the API never read local files."""

    # Stores
    collection: str = "products"
    """Name of the Milvus collection, and of the Solr core the native cluster creates."""
    vector_index: Literal["HNSW", "IVF_SQ8", "IVF_FLAT", "FLAT"] | None = None
    """The vector index of a new collection (an existing one keeps its own until `snapmode reindex`): HNSW, or
    IVF_SQ8 at about a quarter of HNSW's memory, IVF_FLAT, FLAT (exact). milvus-lite builds FLAT and IVF_FLAT only.
    Unset: HNSW on a Milvus server, FLAT on milvus-lite."""
    hnsw_m: int = Field(16, ge=4, le=64)
    """HNSW: graph links per vector."""
    hnsw_ef_construction: int = Field(128, ge=8, le=512)
    """HNSW: candidates kept while building."""
    ivf_nlist: int = Field(1024, ge=1, le=65_536)
    """IVF: clusters of the index."""
    search_ef: int = Field(128, ge=1, le=32_768)
    """HNSW: candidates each search keeps (at least k)."""
    search_nprobe: int = Field(32, ge=1, le=65_536)
    """IVF: clusters each search scans."""
    search_oversample: int = Field(4, ge=1, le=32)
    """A photo query asks the index for this many images per product wanted (products have several images)."""
    milvus_uri: str | None = None
    """The Milvus server, e.g. http://127.0.0.1:19530; unset: an embedded milvus-lite file in `data_dir`."""
    milvus_segment_mb: int = Field(1024, ge=64, le=2048)
    """The Milvus server's segment size in MB (native cluster and compose stack): vectors gather into a segment until
    it holds about this much, then it gets its own index, and a search visits every segment. Milvus's 512 MB
    sealed at 23% (118 MB, nine segments per million 256-d vectors) searched and held more."""
    milvus_mmap: bool = True
    """The Milvus server (native cluster and compose stack) memory-maps the loaded segments' data and indexes from
    files in its data dir instead of holding them in its heap: the kernel keeps them cached while memory lasts."""
    solr_url: str | None = None
    """The Solr core, e.g. http://127.0.0.1:8983/solr/products; unset: an embedded SQLite store in `data_dir`."""
    solr_username: str = "snapmode"
    """Solr basic auth user, used when `solr_password` is set."""
    solr_password: SecretStr | None = None
    """Solr basic auth password (`snapmode cluster solr-security` sets one up); unset: none sent."""
    redis_password: SecretStr | None = None
    """Sent with every Redis connection (the URL holds no secret); unset: none sent."""

    # Queue
    kafka_bootstrap: str = "127.0.0.1:9092"
    """Kafka brokers, comma-separated host:port."""
    records_topic: str = "snapmode.products"
    """The topic of product records (and tombstones) that the topology consumes."""
    dead_letter_topic: str = "snapmode.dead-letter"
    """The topic of records and images that could not be indexed, each with its reason."""
    retry_topic: str | None = None
    """Where the topology parks a record whose images failed transiently until it is due again; one per topology
    (its consumer group reads it). Unset: "<topology_name>.retry"."""
    kafka_client_id: str = "snapmode"
    """Client id of every producer and consumer (crawler, publish, spout, dead letters)."""
    kafka_timeout_s: float = Field(30.0, gt=0)
    """Connecting, a blocked send and each request to the broker."""
    kafka_linger_ms: int = Field(20, ge=0)
    """How long a producer gathers records into one batch."""

    # Storm ingestion topology: parallelism per component and batching, so operators scale without code changes
    nimbus_host: str = "127.0.0.1"
    """Storm's Nimbus host; its port is `nimbus_port`."""
    topology_name: str = "snapmode-ingest"
    """Name of the ingestion topology, and of its Kafka consumer group."""
    topology_workers: int = Field(1, ge=1)
    """Worker JVMs of the topology."""
    spout_parallelism: int = Field(1, ge=1)
    """Kafka consumers; more than the topic's partitions is wasted."""
    fetch_parallelism: int = Field(4, ge=1)
    """Fetch bolt tasks (fetch, validate and decode images)."""
    embed_parallelism: int = Field(1, ge=1)
    """Embed bolt tasks (each holds a model)."""
    writer_parallelism: int = Field(1, ge=1)
    """Writer bolt tasks per store."""
    writer_batch_size: int = Field(64, ge=1)
    """Rows a writer bolt sends to its store at once."""
    batch_wait_s: int = Field(1, ge=1)
    """The longest a partial batch waits (tick tuple interval)."""
    max_spout_pending: int = Field(64, ge=1)
    """Records in flight per spout task."""
    max_attempts: int = Field(0, ge=0)
    """Tries of a record before the spout dead-letters it as `max_attempts`; 0: never. Bolts dead-letter what can
    never succeed themselves, so a failed tuple means a transient failure (a store away): by default it replays
    until done."""
    message_timeout_s: int = Field(120, ge=5)
    """A record not fully written by then is replayed."""

    # Retries of transient failures (a store or the broker away, an image host's 503)
    retry_first_delay_s: float = Field(0.5, ge=0)
    """First delay before retrying a transient failure; it doubles per try."""
    retry_max_delay_s: float = Field(30.0, ge=0)
    """Longest delay between retries of a transient failure."""
    store_retry_budget_s: float = Field(30.0, ge=0)
    """One store write retries for at most this long, then hands its record back (the spout replays it later)."""
    fetch_retry_delay_s: float = Field(30.0, ge=0)
    """A record whose images failed transiently (their host away, timeouts, 503) leaves the spout at once for the
    retry topic and is fetched again after this delay, doubling per try, while the records behind it flow on."""
    fetch_retry_max_delay_s: float = Field(600.0, ge=0)
    """Longest delay between fetches of a record on the retry topic."""
    fetch_retry_window_s: float = Field(3600.0, ge=0)
    """An image that keeps failing this long from its first failure is dead-lettered alone, with its reason, and
    the rest of its product is indexed."""
    host_breaker_failures: int = Field(5, ge=1)
    """A breaker per image host in each fetch bolt process: after this many failures in a row (refused, timed out,
    5xx/429) the host's images are not fetched for `host_breaker_cooldown_s`."""
    host_breaker_cooldown_s: float = Field(60.0, gt=0)
    """How long an open host breaker sends the host's records back to the retry topic untried; then one fetch
    probes the host and decides."""
    solr_timeout_s: float = Field(10.0, gt=0)
    """Each request to Solr."""
    milvus_timeout_s: float = Field(30.0, gt=0)
    """Each Milvus call (pymilvus reconnects within it)."""
    duplicate_similarity: float = Field(0.95, ge=0, le=1)
    """At ingestion a product with an image this similar (cosine) to an image of another product already indexed is
    marked `duplicate_of` that product, and searches show it under its original. Measured for the default
    CBIR-GAN; another model needs its own. 0: nothing is marked."""
    topology_metrics_port: int = Field(9464, ge=0, le=65535)
    """Port on which one component process per host serves the Prometheus metrics of every topology component on
    it; 0: no metrics."""
    topology_metrics_host: str = "127.0.0.1"
    """Address of that port: loopback on the native cluster, 0.0.0.0 in a container that Prometheus scrapes."""
    topology_metrics_dir: Path | None = None
    """The host's directory where each component process writes its metrics; unset: /dev/shm (else the temp dir)
    /snapmode-metrics."""
    image_handoff: Literal["auto", "inline", "local"] = "auto"
    """How a decoded image goes from the fetch bolt to the embed bolt: `inline` as JPEG in the tuple, `local` as a
    raw file in `handoff_dir` on the worker's host (only for workers all on one host), `auto`: local with one
    worker."""
    handoff_dir: Path | None = None
    """Directory of the `local` handoff; unset: /dev/shm (else the temp dir) / snapmode-handoff-<topology_name>."""

    # Cache
    redis_url: str | None = None
    """Redis for the search result cache and the crawler's dedup, e.g. redis://127.0.0.1:6379/0; unset: search
    results are cached in process memory."""
    cache_ttl_s: int = Field(300, ge=0)
    """How long a search result is cached; 0 disables the cache."""
    cache_max_items: int = Field(1024, ge=1)
    """Entries of the in-process cache."""

    # Crawler
    crawl_user_agent: str = "SnapModeBot/0.1 (+https://github.com/snapmode/snapmode)"
    """User-Agent of the crawler and the image fetches, matched against robots.txt."""
    crawl_max_redirects: int = Field(5, ge=0, le=20)
    """Redirects one page or image request may follow."""
    crawl_address_ttl_s: float = Field(300.0, ge=0)
    """How long the crawler trusts a host's public/private verdict."""
    sitemap_absent_crawls: int = Field(3, ge=0)
    """A product page missing from this many complete sitemap reads in a row gets a tombstone (needs Redis); 0:
    off."""
    crawler_metrics_port: int = Field(0, ge=0, le=65535)
    """Port on which a running crawl serves its Prometheus metrics (responses by status class, records sent, refusals
    by reason, retries); 0: none. The port goes with the crawl: `pushgateway_url` keeps a finished crawl's figures."""
    crawler_metrics_host: str = "127.0.0.1"
    """Address of that port."""
    pushgateway_url: str | None = None
    """A Prometheus Pushgateway, e.g. http://pushgateway:9091, to which each crawl pushes its metrics while it runs
    and once at its end, grouped by site: they stay there until the site's next crawl. Unset or empty: none."""
    pushgateway_interval_s: float = Field(15.0, ge=0)
    """How often a running crawl pushes its metrics; 0: only at its end."""

    # Native cluster (`snapmode cluster`): real services on 127.0.0.1, started from official artifacts
    cluster_dir: Path | None = None
    """Configs, data, logs and PID files of the native cluster; unset: `data_dir`/cluster."""
    artifacts_dir: Path | None = None
    """Jars from Maven Central; unset: infra/.artifacts (git-ignored)."""
    java_home: Path | None = None
    """The JDK (17+) of the native cluster; unset: java on PATH."""
    cluster_start_timeout_s: float = Field(180.0, gt=0)
    """How long each service may take from launch to healthy."""
    kafka_port: int = Field(9092, ge=1, le=65535)
    """Kafka's client port."""
    kafka_controller_port: int = Field(9093, ge=1, le=65535)
    """Kafka's KRaft controller port."""
    kafka_partitions: int = Field(4, ge=1)
    """Partitions of the records topic."""
    zookeeper_port: int = Field(2181, ge=1, le=65535)
    """ZooKeeper's client port (Storm's coordination)."""
    nimbus_port: int = Field(6627, ge=1, le=65535)
    """Storm Nimbus's Thrift port."""
    storm_worker_ports: list[int] = [6700, 6701]
    """Ports of the supervisor's worker slots (a JSON list)."""
    solr_port: int = Field(8983, ge=1, le=65535)
    """The port Solr listens on."""
    milvus_port: int = Field(19530, ge=1, le=65535)
    """The Milvus server's gRPC port."""
    redis_port: int = Field(6379, ge=1, le=65535)
    """The port Redis listens on."""

    # API
    host: str = "127.0.0.1"
    """Address `snapmode serve` listens on."""
    port: int = Field(8000, ge=1, le=65535)
    """Port `snapmode serve` listens on."""
    search_k_max: int = Field(100, ge=1)
    """Most results one search may ask for."""
    api_keys: Annotated[list[str], NoDecode] = []
    """Comma-separated keys; set: every route but the page, its images and /healthz needs one in `X-API-Key`."""
    allow_open_api: bool = False
    """Serve on an address other than loopback without API keys: an API anyone who reaches it may use, for a
    private network you trust. Unset, `snapmode serve` refuses to."""
    admin_keys: Annotated[list[str], NoDecode] = []
    """Comma-separated keys for the admin routes (`DELETE /products/{key}`) in `X-Admin-Key`; unset: those routes
    are off."""
    max_concurrent_searches: int = Field(8, ge=1)
    """Searches in flight per API process; more are refused with 503 and Retry-After."""
    rate_limit: str | None = None
    """Requests per client in the `limits` notation ("120/minute", "10/second;1000/hour"), kept in each API
    process's memory; more are refused with 429 and Retry-After. The client is its API key when keys are set, else
    its address. Unset: no limit."""
    shared_photo_ttl_s: int = Field(3600, ge=0)
    """How long an uploaded query photo is kept under its id (`photo_id`), so that a link to its search (the page's
    address) shows the same results; 0: photos are not kept."""
    shared_photo_max_mb: int = Field(64, ge=1)
    """Memory the kept photos may take in an API process without Redis (with Redis, they expire there)."""
    search_offset_max: int = Field(1000, ge=0)
    """Deepest page start of a search or product listing."""
    hybrid_depth: int = Field(100, ge=1)
    """Products each ranking (photo, words) contributes to a hybrid search."""
    rrf_k: int = Field(60, ge=1)
    """Reciprocal rank fusion constant: a product scores 1 / (rrf_k + rank) per ranking."""
    query_batch_wait_ms: float = Field(5.0, ge=0, le=1000)
    """Photo searches that arrive together share one forward pass and one vector search: a batch waits at most
    this long after its first query, only for queries still decoding or while fewer are queued than the last batch
    held; 0: off."""
    query_batch_max: int = Field(32, ge=1)
    """Most photo searches in one batch."""
    query_batch_workers: int = Field(1, ge=1)
    """Batches formed and answered side by side."""
    torch_threads: int = Field(0, ge=0)
    """Intra-op threads of the model (torch or the runtime) in this process; 0: its default."""

    # Real-image development sets (`snapmode dataset build`)
    package_cache_dir: Path | None = None
    """Where source packages are downloaded and unpacked once; unset: `data_dir`/packages."""

    # The sample catalog of `snapmode demo`
    demo_products: int = Field(300, ge=1)
    """Products of the sample catalog."""
    demo_views: int = Field(4, ge=2)
    """Photos per product of the sample catalog."""
    demo_seed: int = 7
    """Seed the sample catalog is drawn from."""

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

    @model_validator(mode="after")
    def _cluster_services(self) -> Settings:
        """Cluster mode alone points every store at the native cluster; URLs that are set win."""
        if self.mode == "cluster":
            self.milvus_uri = self.milvus_uri or f"http://127.0.0.1:{self.milvus_port}"
            self.solr_url = self.solr_url or self.solr_core_url
            self.redis_url = self.redis_url or f"redis://127.0.0.1:{self.redis_port}/0"
        return self

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
