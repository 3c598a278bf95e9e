"""`VectorStore` on Milvus through pymilvus: a milvus-lite file (embedded) or a Milvus server (cluster)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import grpc
import numpy as np
from pymilvus import DataType, MilvusClient, MilvusException
from pymilvus import exceptions as milvus_errors

from snapmode.interfaces import SearchFilter, StoreError, StoreUnavailable, VectorHit, VectorItem
from snapmode.logs import get_logger

log = get_logger(__name__)

_STRING_FIELDS = ("product_key", "site", "category", "brand", "colour")
HNSW_PARAMS = {"M": 16, "efConstruction": 200}
QUERY_LIMIT = 16_384  # Milvus's largest query result (a product has at most 100 images)
IMAGES_OF_CHUNK = 100  # product keys per query: at most 10,000 rows
# Reads that decide what to delete or rewrite see every earlier write, even unflushed ones on a server fed by a stream
READ_YOUR_WRITES = "Strong"

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


def store_error(exc: BaseException, what: str) -> StoreError:
    """The `StoreUnavailable` (retry) or `StoreError` (refused: dead-letter) that a Milvus error means."""
    if is_transient_error(exc):
        return StoreUnavailable(f"{what}: unavailable: {exc}")
    return StoreError(f"{what}: refused: {exc}")


def filter_expression(where: SearchFilter | None) -> str:
    """The Milvus boolean expression for a filter ("" for none); string values are JSON-quoted."""
    if where is None:
        return ""
    clauses = [f"{name} == {json.dumps(value)}" for name in ("site", "category", "brand", "colour")
               if (value := getattr(where, name)) is not None]
    if where.price_min is not None:
        clauses.append(f"price >= {float(where.price_min)}")
    if where.price_max is not None:
        clauses.append(f"(price >= 0 and price <= {float(where.price_max)})")
    return " and ".join(clauses)


class MilvusVectorStore:
    """Cosine-similarity HNSW index of image embeddings keyed by `image_id`.

    `uri` is a file path for milvus-lite or an http(s) URL of a Milvus server (or of a milvus-lite engine,
    `snapmode.stores.lite`, with `on_close` releasing it). `flush_writes=False` suits a server fed
    by a stream: its write-ahead log already makes an upsert durable, and it becomes searchable within the collection's
    consistency bound, whereas a flush seals a segment per call (about 2.5 s each on one node).
    """

    def __init__(self, *, uri: str, collection: str, dim: int, ef: int = 128, timeout_s: float = 30.0,
                 flush_writes: bool = True, on_close: Callable[[], None] | None = None,
                 grpc_options: dict[str, object] | None = None) -> None:
        self.uri = uri
        self.collection = collection
        self.dim = dim
        self.ef = ef
        self.timeout_s = timeout_s
        self.flush_writes = flush_writes
        self.on_close = on_close
        if "://" not in uri:
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.client = MilvusClient(uri=uri, timeout=timeout_s, grpc_options=grpc_options or {})
            self._ensure_collection()
        except (MilvusException, grpc.RpcError) as exc:
            raise store_error(exc, f"Milvus at {uri}") from exc

    def _ensure_collection(self) -> None:
        if self.client.has_collection(self.collection):
            self._check_dim()
            self.client.load_collection(self.collection)
            return
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("image_id", DataType.VARCHAR, is_primary=True, max_length=64)
        schema.add_field("product_key", DataType.VARCHAR, max_length=512)
        for name in _STRING_FIELDS[1:]:
            schema.add_field(name, DataType.VARCHAR, max_length=256)
        schema.add_field("price", DataType.FLOAT)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
        index = self.client.prepare_index_params()
        index.add_index(field_name="vector", index_type="HNSW", metric_type="COSINE", params=HNSW_PARAMS)
        self.client.create_collection(self.collection, schema=schema, index_params=index)
        log.info("milvus.collection_created", uri=self.uri, collection=self.collection, dim=self.dim)

    def _check_dim(self) -> None:
        fields = self.client.describe_collection(self.collection)["fields"]
        dim = next(int(f["params"]["dim"]) for f in fields if f["name"] == "vector")
        if dim != self.dim:
            raise StoreError(f"collection {self.collection!r} holds {dim}-d vectors, the embedder makes {self.dim}-d: "
                             "set another SNAPMODE_COLLECTION or SNAPMODE_DATA_DIR, or the embedder that made them")

    def upsert(self, items: Sequence[VectorItem]) -> None:
        if not items:
            return
        rows = []
        for item in items:
            vector = np.asarray(item.vector, dtype=np.float32).reshape(-1)
            assert vector.shape == (self.dim,), f"vector of {item.image_id} has shape {vector.shape}, want ({self.dim},)"
            rows.append({"image_id": item.image_id, "product_key": item.product_key, "site": item.site[:256],
                         "category": item.category[:256], "brand": item.brand[:256], "colour": item.colour[:256],
                         "price": float(item.price), "vector": vector.tolist()})
        self._call(self.client.upsert, self.collection, rows)
        if self.flush_writes:
            self._call(self.client.flush, self.collection)

    def search(self, vectors: np.ndarray, k: int, where: SearchFilter | None = None) -> list[list[VectorHit]]:
        queries = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        results = self._call(self.client.search, self.collection, data=queries.tolist(), limit=k,
                             filter=filter_expression(where), output_fields=["product_key"],
                             search_params={"metric_type": "COSINE", "params": {"ef": max(self.ef, k)}})
        return [[VectorHit(image_id=str(hit["id"] if "id" in hit else hit["image_id"]),
                           product_key=hit["entity"]["product_key"], score=float(hit["distance"]))
                 for hit in hits] for hits in results]

    def delete(self, image_ids: Sequence[str]) -> None:
        if image_ids:
            self._call(self.client.delete, self.collection, ids=list(image_ids))
            self._call(self.client.flush, self.collection)

    def images_of(self, product_keys: Sequence[str]) -> dict[str, set[str]]:
        """The stored image ids of each of `product_keys` that has any."""
        out: dict[str, set[str]] = {}
        for start in range(0, len(product_keys), IMAGES_OF_CHUNK):
            keys = list(dict.fromkeys(product_keys[start:start + IMAGES_OF_CHUNK]))
            rows = self._call(self.client.query, self.collection, filter=f"product_key in {json.dumps(keys)}",
                              output_fields=["image_id", "product_key"], limit=QUERY_LIMIT,
                              consistency_level=READ_YOUR_WRITES)
            for row in rows:
                out.setdefault(row["product_key"], set()).add(row["image_id"])
        return out

    def count(self) -> int:
        rows = self._call(self.client.query, self.collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def existing(self, image_ids: Sequence[str]) -> set[str]:
        """Which of `image_ids` are stored."""
        if not image_ids:
            return set()
        rows = self._call(self.client.get, self.collection, ids=list(image_ids), output_fields=["image_id"])
        return {row["image_id"] for row in rows}

    def fetch(self, image_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those of `image_ids` that exist, by image id."""
        if not image_ids:
            return {}
        rows = self._call(self.client.get, self.collection, ids=list(image_ids), output_fields=["image_id", "vector"],
                          consistency_level=READ_YOUR_WRITES)
        return {row["image_id"]: np.asarray(row["vector"], dtype=np.float32) for row in rows}

    def close(self) -> None:
        self.client.close()
        if self.on_close is not None:
            self.on_close()

    def _call(self, method, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return method(*args, timeout=self.timeout_s, **kwargs)
        except (MilvusException, grpc.RpcError) as exc:
            raise store_error(exc, f"Milvus {method.__name__} at {self.uri}") from exc
