"""The Milvus collections behind one name: the model each holds the vectors of, and the alias that names the active one.

On a Milvus server a store starts as one collection named `products`; `snapmode reindex` builds `products__1` (then
`__2`, ...) and makes `products` an alias of it. milvus-lite implements no aliases: there a store starts as
`products__0`, and the rows of the collection `snapmode_aliases` (alias, collection) name the active one. Each
collection records the model id and dimension it was made for in its properties (a server) and its description
(milvus-lite keeps no properties).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pymilvus import DataType, MilvusClient

MODEL_PROPERTY = "snapmode.model_id"
DIM_PROPERTY = "snapmode.dim"
SEPARATOR = "__"
NUMBERED = re.compile(rf".+{SEPARATOR}\d+")  # a physical collection `name__N`
ALIASES = "snapmode_aliases"  # milvus-lite's stand-in for aliases: a row (alias, collection) for each
REINDEX_HINT = ("run `snapmode reindex` to re-embed every product with the embedder, or configure the one that made "
                "the index (SNAPMODE_EMBEDDER, SNAPMODE_MODEL_CHECKPOINT)")


@dataclass(frozen=True)
class Identity:
    """What made a collection's vectors: the embedder's model id (None: made before ids were recorded) and dim."""

    model_id: str | None
    dim: int

    def properties(self) -> dict[str, str]:
        return {DIM_PROPERTY: str(self.dim), **({MODEL_PROPERTY: self.model_id} if self.model_id else {})}

    def description(self) -> str:
        """The properties as a collection's description, which milvus-lite keeps where it drops properties."""
        return json.dumps(self.properties(), sort_keys=True)

    def __str__(self) -> str:
        return f"{self.model_id or 'an unrecorded model'} ({self.dim}-d)"


def identity_of(description: dict[str, Any]) -> Identity:
    """The identity in a `describe_collection` answer: the vector field's dim, the model id recorded in the
    properties or else the description, if any."""
    dim = next(int(f["params"]["dim"]) for f in description["fields"] if f["name"] == "vector")
    recorded = description.get("properties") or {}
    if MODEL_PROPERTY not in recorded:
        try:
            recorded = json.loads(description.get("description") or "{}")
        except ValueError:
            recorded = {}
    model_id = recorded.get(MODEL_PROPERTY) if isinstance(recorded, dict) else None
    return Identity(model_id=str(model_id) if model_id else None, dim=dim)


def refusal(name: str, physical: str, found: Identity, wanted: Identity) -> str | None:
    """The one line that refuses index `name` (collection `physical`) to an embedder of identity `wanted`, or None
    when they agree. An unrecorded model (an index made before ids were recorded, or a caller that knows only the
    dimension) agrees with any model of the same dimension."""
    same_model = found.model_id is None or wanted.model_id is None or found.model_id == wanted.model_id
    if found.dim == wanted.dim and same_model:
        return None
    where = name if physical == name else f"{name} (collection {physical})"
    return f"the vector index {where} was made by {found}, the embedder is {wanted}: {REINDEX_HINT}"


class Collections:
    """The collection or alias `name` of one Milvus database (`lite`: of milvus-lite, aliases in `ALIASES`), and its
    physical collections `name__N`."""

    def __init__(self, client: MilvusClient, name: str, *, timeout_s: float = 30.0, lite: bool = False) -> None:
        self.client, self.name, self.timeout_s, self.lite = client, name, timeout_s, lite
        self._numbered = re.compile(re.escape(name + SEPARATOR) + r"(\d+)")

    def active(self) -> str | None:
        """The physical collection that `name` stands for now (itself when it is a collection), or None."""
        if self.lite and (registered := self._registered()) is not None:
            return registered
        if not self.client.has_collection(self.name, timeout=self.timeout_s):
            return None
        return str(self.client.describe_collection(self.name, timeout=self.timeout_s)["collection_name"])

    def first(self) -> str:
        """The collection that a new store of `name` makes: `name` itself, or on milvus-lite `name__0` (`swap` then
        points `name` at it) unless `name` is numbered already (a reindex's new collection)."""
        if not self.lite or NUMBERED.fullmatch(self.name):
            return self.name
        return f"{self.name}{SEPARATOR}0"

    def identity(self, physical: str) -> Identity:
        return identity_of(self.client.describe_collection(physical, timeout=self.timeout_s))

    def physicals(self) -> list[str]:
        """The numbered collections `name__N`, in order."""
        found = [(int(m.group(1)), c) for c in self.client.list_collections(timeout=self.timeout_s)
                 if (m := self._numbered.fullmatch(c))]
        return [c for _, c in sorted(found)]

    def next_name(self) -> str:
        numbers = [int(self._numbered.fullmatch(c).group(1)) for c in self.physicals()]  # type: ignore[union-attr]
        return f"{self.name}{SEPARATOR}{max(numbers, default=0) + 1}"

    def swap(self, target: str) -> str | None:
        """Point `name` at collection `target` in one step; returns the collection it named before (None: none).

        An alias moves atomically (`alter_alias`); on milvus-lite its row in `ALIASES` is replaced. A store from
        before aliases, whose `name` is a collection, has it renamed to `name__0` first, then the alias created:
        between those two calls (milliseconds) `name` names nothing, and the stores that use it wait for it
        (`MilvusVectorStore`)."""
        previous = self.active()
        if self.lite:
            self._register(target)
        elif previous is None:
            self.client.create_alias(target, self.name, timeout=self.timeout_s)
        elif previous == self.name:
            previous = f"{self.name}{SEPARATOR}0" if f"{self.name}{SEPARATOR}0" not in self.physicals() \
                else self.next_name()
            self.client.rename_collection(self.name, previous, timeout=self.timeout_s)
            self.client.create_alias(target, self.name, timeout=self.timeout_s)
        else:
            self.client.alter_alias(target, self.name, timeout=self.timeout_s)
        return previous

    def drop(self, physical: str) -> None:
        """Drop a collection that `name` does not stand for."""
        assert physical != self.active(), f"{physical} is the active collection of {self.name}"
        self.client.drop_collection(physical, timeout=self.timeout_s)

    def _registered(self) -> str | None:
        """The collection that `ALIASES` names for `name`, if any."""
        if not self.client.has_collection(ALIASES, timeout=self.timeout_s):
            return None
        rows = self.client.query(ALIASES, filter=f'alias == "{self.name}"', output_fields=["collection"],
                                 consistency_level="Strong", timeout=self.timeout_s)
        return str(rows[0]["collection"]) if rows else None

    def _register(self, target: str) -> None:
        """Point `name` at `target` in `ALIASES` (one row replaced: the readers see the old one or the new)."""
        if not self.client.has_collection(ALIASES, timeout=self.timeout_s):
            schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("alias", DataType.VARCHAR, is_primary=True, max_length=255)
            schema.add_field("collection", DataType.VARCHAR, max_length=255)
            schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
            index = self.client.prepare_index_params()
            index.add_index(field_name="unused", index_type="FLAT", metric_type="L2")
            self.client.create_collection(ALIASES, schema=schema, index_params=index, timeout=self.timeout_s)
        self.client.upsert(ALIASES, [{"alias": self.name, "collection": target, "unused": [0.0, 0.0]}],
                           timeout=self.timeout_s)
        self.client.flush(ALIASES, timeout=self.timeout_s)
