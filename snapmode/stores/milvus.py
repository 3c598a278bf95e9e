"""`VectorStore` on Milvus through pymilvus: a milvus-lite file (embedded) or a Milvus server (cluster)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import grpc
import numpy as np
from pymilvus import DataType, MilvusClient, MilvusException
from pymilvus import exceptions as milvus_errors

from snapmode.interfaces import IndexMismatch, SearchFilter, StoreError, StoreUnavailable, VectorHit, VectorItem
from snapmode.logs import get_logger
from snapmode.stores.collections import Collections, Identity, identity_of, refusal
from snapmode.stores.lite import is_lite_file, is_lite_uri
from snapmode.stores.vector_index import METRIC, VectorIndex
from snapmode.waiting import WaitTimeout, wait_until

log = get_logger(__name__)

_STRING_FIELDS = ("product_key", "site", "category", "brand", "colour")
MAX_BYTES = {"image_id": 64, "product_key": 512}  # the schema's key fields; the others are cut to 256 characters
QUERY_LIMIT = 16_384  # Milvus's largest query result (a product has at most 100 images)
IMAGES_OF_CHUNK = 100  # product keys per query: at most 10,000 rows
ITERATOR_BATCH = 4_096  # rows per batch of a query iterator
# Reads that decide what to delete or rewrite see every earlier write, even unflushed ones on a server fed by a stream
READ_YOUR_WRITES = "Strong"
SWAP_WAIT_S = 5.0  # a name between the two steps of a first reindex (collection renamed, alias not yet made)
_NEW = "(new)"  # a name that stands for nothing yet, as `resolve` waits for an answer

# gRPC statuses of a server that is away, restarting or overloaded: the same call may succeed later
_TRANSIENT_GRPC = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED,
                   grpc.StatusCode.ABORTED, grpc.StatusCode.CANCELLED, grpc.StatusCode.UNKNOWN,
                   grpc.StatusCode.INTERNAL}
# Raised by pymilvus itself when it cannot reach the server
_UNREACHABLE_TYPES = (milvus_errors.MilvusUnavailableException, milvus_errors.ConnectError,
                      milvus_errors.ConnectionNotExistException)
_UNREACHABLE_TEXT = re.compile(r"Fail connecting|unavailable|Retry timeout|not ready|not loaded|rate limit|"
                               r"deadline|connection|no available|not healthy|stopping", re.IGNORECASE)
# Raised by pymilvus before sending, or answered by the server, for a request that is wrong in itself
_INPUT_TYPES = (milvus_errors.ParamError, milvus_errors.DataTypeNotMatchException,
                milvus_errors.DataNotMatchException, milvus_errors.PrimaryKeyException,
                milvus_errors.FieldTypeException, milvus_errors.FieldsTypeException)
_GONE_TEXT = re.compile(r"collection not found|does not exist|can't find collection", re.IGNORECASE)
_INPUT_TEXT = re.compile(r"exceeds max_length|unexpected character|invalid|mismatch|not match|should be|"
                         r"out of range|cannot parse|illegal|not supported|duplicate", re.IGNORECASE)


def is_transient_error(exc: BaseException) -> bool:
    """Whether a Milvus error may go away by itself (server away, restarting, overloaded). A request the server or
    pymilvus refused as wrong is not; nor, by its text, a refusal the server did not flag. What is neither is
    taken as transient: retrying an unknown error loses nothing, refusing it would dead-letter good rows."""
    if isinstance(exc, grpc.RpcError):
        return exc.code() in _TRANSIENT_GRPC  # type: ignore[attr-defined]
    if not isinstance(exc, MilvusException):
        return isinstance(exc, (ConnectionError, TimeoutError))
    if isinstance(exc.code, grpc.StatusCode):  # a gRPC failure after pymilvus's own retries
        return exc.code in _TRANSIENT_GRPC
    if isinstance(exc, _UNREACHABLE_TYPES) or exc.retriable or _UNREACHABLE_TEXT.search(exc.message or ""):
        return True
    if isinstance(exc, _INPUT_TYPES) or exc.is_input_error or _INPUT_TEXT.search(exc.message or ""):
        return False
    return True


def may_have_moved(exc: BaseException) -> bool:
    """Whether a failed call may mean that the store's name stands for another collection now (its collection gone,
    a vector of another dimension refused): any Milvus answer but a server away, which is not asked again."""
    if not isinstance(exc, MilvusException) or isinstance(exc.code, grpc.StatusCode):
        return False
    return bool(_GONE_TEXT.search(exc.message or "")) or not (
        isinstance(exc, _UNREACHABLE_TYPES) or exc.retriable or _UNREACHABLE_TEXT.search(exc.message or ""))


def store_error(exc: BaseException, what: str) -> StoreError:
    """The `StoreUnavailable` (retry) or `StoreError` (refused: dead-letter) that a Milvus error means."""
    if is_transient_error(exc):
        return StoreUnavailable(f"{what}: unavailable: {exc}")
    return StoreError(f"{what}: refused: {exc}")


def quoted(value: str) -> str:
    """A string literal of Milvus's expressions: backslashes and double quotes escaped, every other character as it
    is (the parser knows no \\u escapes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def filter_expression(where: SearchFilter | None) -> str:
    """The Milvus boolean expression for a filter ("" for none); string values are quoted (`quoted`)."""
    if where is None:
        return ""
    clauses = [f"{name} == {quoted(value)}" for name in ("site", "category", "brand", "colour")
               if (value := getattr(where, name)) is not None]
    if where.price_min is not None:
        clauses.append(f"price >= {float(where.price_min)}")
    if where.price_max is not None:
        clauses.append(f"(price >= 0 and price <= {float(where.price_max)})")
    return " and ".join(clauses)


def resolve(client: MilvusClient, name: str, *, uri: str, timeout_s: float) -> str | None:
    """The collection that `name` stands for, or None when there is none. A name that stands for nothing while
    collections `name__N` exist is a first reindex between its two steps (or one killed there): wait for it."""
    collections = Collections(client, name, timeout_s=timeout_s, lite=is_lite_uri(uri))
    try:
        found = wait_until(lambda: collections.active() or (None if collections.physicals() else _NEW),
                           timeout_s=SWAP_WAIT_S, interval_s=0.1)
    except WaitTimeout:
        raise StoreUnavailable(f"{name} at {uri} names no collection, while {collections.physicals()} "
                               "exist: a `snapmode reindex` stopped midway? run it again") from None
    return None if found == _NEW else found


def recorded_identity(uri: str, name: str, *, timeout_s: float = 30.0,
                      grpc_options: dict[str, object] | None = None) -> Identity | None:
    """The model and dimension that the collection `name` (or the one it is an alias of) records, or None when it
    names no collection yet."""
    try:
        client = MilvusClient(uri=uri, timeout=timeout_s, grpc_options=grpc_options or {})
        try:
            physical = resolve(client, name, uri=uri, timeout_s=timeout_s)
            return None if physical is None else identity_of(client.describe_collection(physical, timeout=timeout_s))
        finally:
            client.close()
    except (MilvusException, grpc.RpcError) as exc:
        raise store_error(exc, f"Milvus at {uri}") from exc


class MilvusVectorStore:
    """Cosine-similarity index of image embeddings keyed by `image_id` (`VectorIndex`: HNSW on a server by default).

    `uri` is a file path for milvus-lite, the Unix socket of a milvus-lite engine (`snapmode.stores.lite`, with
    `on_close` releasing it) or an http(s) URL of a Milvus server. `flush_writes=False` suits a server fed
    by a stream: its write-ahead log already makes an upsert durable, and it becomes searchable within the collection's
    consistency bound, whereas a flush seals a segment per call (about 2.5 s each on one node).

    `collection` is a collection or an alias (`snapmode.stores.collections`); the store keeps to the collection it
    stood for when opened, whose recorded model must be `model_id` (None: any model of dimension `dim`), else
    `IndexMismatch`. A new collection records both. Should that collection go (a reindex swapped the alias and
    dropped it), the store follows the alias if it holds vectors of the same model.
    """

    def __init__(self, *, uri: str, collection: str, dim: int, model_id: str | None = None,
                 index: VectorIndex | None = None,
                 timeout_s: float = 30.0, flush_writes: bool = True, on_close: Callable[[], None] | None = None,
                 grpc_options: dict[str, object] | None = None) -> None:
        self.uri = uri
        self.name = collection  # the collection or alias that the settings name
        self.collection = collection  # the collection it stands for, once opened
        self.dim = dim
        self.identity = Identity(model_id, dim)
        self.lite = is_lite_uri(uri)
        self.index = (index or VectorIndex()).for_engine(lite=self.lite)
        self.built = self.index.type  # the index type of the collection opened, which searches must suit
        self.timeout_s = timeout_s
        self.flush_writes = flush_writes
        self.on_close = on_close
        if is_lite_file(uri):
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.client = MilvusClient(uri=uri, timeout=timeout_s, grpc_options=grpc_options or {})
        except (MilvusException, grpc.RpcError) as exc:
            if on_close is not None:
                on_close()
            raise store_error(exc, f"Milvus at {uri}") from exc
        try:
            self._ensure_collection()
        except BaseException as exc:
            self.close()  # an engine opened for this store is let go (a refused index, a server that went away)
            if isinstance(exc, (MilvusException, grpc.RpcError)):
                raise store_error(exc, f"Milvus at {uri}") from exc
            raise

    def _ensure_collection(self) -> None:
        physical = resolve(self.client, self.name, uri=self.uri, timeout_s=self.timeout_s)
        if physical is not None:
            self.collection = physical
            self._check_identity()
            self.built = self._built_index()
            self.client.load_collection(self.collection)
            return
        self._create()

    def _create(self) -> None:
        """Make the collection that `name` will stand for, labelled with this store's identity, and load it."""
        if (why := self.index.unbuildable(lite=self.lite)) is not None:
            raise StoreError(why)
        collections = Collections(self.client, self.name, timeout_s=self.timeout_s, lite=self.lite)
        self.collection = collections.first()
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False,
                                            description=self.identity.description())
        schema.add_field("image_id", DataType.VARCHAR, is_primary=True, max_length=MAX_BYTES["image_id"])
        schema.add_field("product_key", DataType.VARCHAR, max_length=MAX_BYTES["product_key"])
        for name in _STRING_FIELDS[1:]:
            schema.add_field(name, DataType.VARCHAR, max_length=256)
        schema.add_field("price", DataType.FLOAT)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
        index = self.client.prepare_index_params()
        index.add_index(field_name="vector", index_type=self.index.type, metric_type=METRIC,
                        params=self.index.build_params())
        self.client.create_collection(self.collection, schema=schema, index_params=index,
                                      properties=self.identity.properties())
        if self.collection != self.name:
            collections.swap(self.collection)
        self.built = self.index.type
        log.info("milvus.collection_created", uri=self.uri, collection=self.collection, dim=self.dim,
                 model_id=self.identity.model_id, index=self.index.type, params=self.index.build_params())

    def _built_index(self) -> str:
        """The index type of the opened collection; the settings' when it has none or will not say."""
        try:
            info = self.client.describe_index(self.collection, index_name="vector") or {}
        except MilvusException:
            return self.index.type
        built = str(info.get("index_type") or self.index.type)
        if built != self.index.type:
            log.info("milvus.index_kept", collection=self.collection, index=built, settings=self.index.type,
                     hint="a collection keeps its index: `snapmode reindex` builds a new one as configured")
        return built

    def _check_identity(self) -> None:
        """Refuse a collection of another model or dimension; label an unlabelled empty one as this model's."""
        found = identity_of(self.client.describe_collection(self.collection))
        if (line := refusal(self.name, self.collection, found, self.identity)) is not None:
            raise IndexMismatch(line)
        if found.model_id is not None or self.identity.model_id is None:
            return
        if self._count(READ_YOUR_WRITES) == 0:  # made by `snapmode cluster init`, which knows no model
            if self.lite:  # milvus-lite alters no collection: an empty one is made again, labelled
                self.client.drop_collection(self.collection)
                self._create()
            else:
                self.client.alter_collection_properties(self.collection, properties=self.identity.properties())
            return
        log.warning("milvus.model_unrecorded", collection=self.collection, dim=found.dim,
                    embedder=self.identity.model_id,
                    hint="made before model ids were recorded: kept as the embedder's, of the same dimension; "
                         "`snapmode reindex` records it")

    def _follow(self) -> bool:
        """After a call failed: when the name now stands for another collection (a reindex swapped it), keep to that
        one if it holds this model's vectors (else `IndexMismatch`: this process must restart with the new model).
        Whether it moved."""
        try:
            physical = resolve(self.client, self.name, uri=self.uri, timeout_s=self.timeout_s)
            if physical in (None, self.collection):
                return False
            found = identity_of(self.client.describe_collection(physical))
        except (MilvusException, grpc.RpcError, StoreError):
            return False
        if (line := refusal(self.name, physical, found, self.identity)) is not None:
            raise IndexMismatch(f"{line} (rebuilt while this process ran: restart it)")
        log.info("milvus.collection_followed", name=self.name, previous=self.collection, collection=physical)
        self.collection = physical
        self.built = self._built_index()
        return True

    def upsert(self, items: Sequence[VectorItem]) -> None:
        self._write(self.client.upsert, items)

    def insert(self, items: Sequence[VectorItem]) -> None:
        """Add images that the collection does not hold (a bulk fill of a new one); an id it holds would be stored
        twice. Milvus writes an upsert as a deletion of each id and an insert: a segment filled by upserts holds as
        many deletions as rows, and Milvus rewrites it (and rebuilds its index) to drop them once it is sealed."""
        self._write(self.client.insert, items)

    def _write(self, call: Callable[..., object], items: Sequence[VectorItem]) -> None:
        if not items:
            return
        rows = []
        for item in items:
            for name, most in MAX_BYTES.items():  # milvus-lite stores a longer key; a server refuses it
                if len(getattr(item, name).encode()) > most:
                    raise StoreError(f"Milvus write of {item.image_id[:64]!r}: refused: {name} exceeds max_length "
                                     f"({most} bytes)")
            vector = np.asarray(item.vector, dtype=np.float32).reshape(-1)
            assert vector.shape == (self.dim,), f"vector of {item.image_id} has shape {vector.shape}, want ({self.dim},)"
            rows.append({"image_id": item.image_id, "product_key": item.product_key, "site": item.site[:256],
                         "category": item.category[:256], "brand": item.brand[:256], "colour": item.colour[:256],
                         "price": float(item.price), "vector": vector.tolist()})
        self._call(call, rows)
        if self.flush_writes:
            self._call(self.client.flush)

    def search(self, vectors: np.ndarray, k: int, where: SearchFilter | None = None) -> list[list[VectorHit]]:
        queries = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        results = self._call(self.client.search, data=queries.tolist(), limit=k,
                             filter=filter_expression(where), output_fields=["product_key"],
                             search_params=self.index.search_params(self.built, k))
        return [[VectorHit(image_id=str(hit["id"] if "id" in hit else hit["image_id"]),
                           product_key=hit["entity"]["product_key"], score=float(hit["distance"]))
                 for hit in hits] for hits in results]

    def delete(self, image_ids: Sequence[str]) -> None:
        if image_ids:
            self._call(self.client.delete, ids=list(image_ids))
            self._call(self.client.flush)

    def images_of(self, product_keys: Sequence[str]) -> dict[str, set[str]]:
        """The stored image ids of each of `product_keys` that has any."""
        out: dict[str, set[str]] = {}
        for start in range(0, len(product_keys), IMAGES_OF_CHUNK):
            keys = list(dict.fromkeys(product_keys[start:start + IMAGES_OF_CHUNK]))
            rows = self._call(self.client.query, filter=f"product_key in [{', '.join(map(quoted, keys))}]",
                              output_fields=["image_id", "product_key"], limit=QUERY_LIMIT,
                              consistency_level=READ_YOUR_WRITES)
            for row in rows:
                out.setdefault(row["product_key"], set()).add(row["image_id"])
        return out

    def count(self) -> int:
        return self._count()

    def _count(self, consistency: str | None = None) -> int:
        extra = {"consistency_level": consistency} if consistency else {}
        rows = self._call(self.client.query, filter="", output_fields=["count(*)"], **extra)
        return int(rows[0]["count(*)"])

    def existing(self, image_ids: Sequence[str]) -> set[str]:
        """Which of `image_ids` are stored."""
        if not image_ids:
            return set()
        rows = self._call(self.client.get, ids=list(image_ids), output_fields=["image_id"])
        return {row["image_id"] for row in rows}

    def fetch(self, image_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those of `image_ids` that exist, by image id."""
        if not image_ids:
            return {}
        rows = self._call(self.client.get, ids=list(image_ids), output_fields=["image_id", "vector"],
                          consistency_level=READ_YOUR_WRITES)
        return {row["image_id"]: np.asarray(row["vector"], dtype=np.float32) for row in rows}

    def product_keys(self) -> set[str]:
        """Every product key the collection holds, read in batches (a reindex's sweep of products gone meanwhile)."""
        quiet = logging.getLogger("pymilvus.client.iterator.query_iterator")
        level, quiet.level = quiet.level, logging.ERROR  # milvus-lite gives no session timestamp: a warning each
        try:
            batches = self.client.query_iterator(self.collection, batch_size=ITERATOR_BATCH, filter="",
                                                 output_fields=["product_key"], consistency_level=READ_YOUR_WRITES,
                                                 timeout=self.timeout_s)
            keys: set[str] = set()
            while rows := batches.next():
                keys.update(row["product_key"] for row in rows)
            batches.close()
            return keys
        except (MilvusException, grpc.RpcError) as exc:
            raise store_error(exc, f"Milvus query_iterator at {self.uri}") from exc
        finally:
            quiet.setLevel(level)

    def close(self) -> None:
        self.client.close()
        if self.on_close is not None:
            self.on_close()

    def _call(self, method, *args, **kwargs):  # type: ignore[no-untyped-def]
        """`method` on this store's collection; once more on the alias's new collection when it moved."""
        for attempt in (1, 2):
            try:
                return method(self.collection, *args, timeout=self.timeout_s, **kwargs)
            except (MilvusException, grpc.RpcError) as exc:
                if attempt == 2 or not may_have_moved(exc) or not self._follow():
                    raise store_error(exc, f"Milvus {method.__name__} at {self.uri}") from exc
