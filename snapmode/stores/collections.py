"""The Milvus collections behind one name: the model each holds the vectors of, and the alias that names the active one.

A store starts as one collection named `products`; `snapmode reindex` builds `products__1` (then `__2`, ...) and
makes `products` an alias of it. Each collection records the model id and dimension it was made for in its
properties, which milvus-lite and the Milvus server both keep.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pymilvus import MilvusClient

MODEL_PROPERTY = "snapmode.model_id"
DIM_PROPERTY = "snapmode.dim"
SEPARATOR = "__"
REINDEX_HINT = ("run `snapmode reindex` to re-embed every product with the embedder, or configure the one that made "
                "the index (SNAPMODE_EMBEDDER, SNAPMODE_MODEL_CHECKPOINT)")


@dataclass(frozen=True)
class Identity:
    """What made a collection's vectors: the embedder's model id (None: made before ids were recorded) and dim."""

    model_id: str | None
    dim: int

    def properties(self) -> dict[str, str]:
        return {DIM_PROPERTY: str(self.dim), **({MODEL_PROPERTY: self.model_id} if self.model_id else {})}

    def __str__(self) -> str:
        return f"{self.model_id or 'an unrecorded model'} ({self.dim}-d)"


def identity_of(description: dict[str, Any]) -> Identity:
    """The identity in a `describe_collection` answer: the vector field's dim, the recorded model id if any."""
    dim = next(int(f["params"]["dim"]) for f in description["fields"] if f["name"] == "vector")
    return Identity(model_id=(description.get("properties") or {}).get(MODEL_PROPERTY) or None, dim=dim)


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
    """The collection or alias `name` of one Milvus database, and its physical collections `name__N`."""

    def __init__(self, client: MilvusClient, name: str, *, timeout_s: float = 30.0) -> None:
        self.client, self.name, self.timeout_s = client, name, timeout_s
        self._numbered = re.compile(re.escape(name + SEPARATOR) + r"(\d+)")

    def active(self) -> str | None:
        """The physical collection that `name` stands for now (itself when it is a collection), or None."""
        if not self.client.has_collection(self.name, timeout=self.timeout_s):
            return None
        return str(self.client.describe_collection(self.name, timeout=self.timeout_s)["collection_name"])

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

        An alias moves atomically (`alter_alias`). A store from before aliases, whose `name` is a collection, has it
        renamed to `name__0` first, then the alias created: between those two calls (milliseconds) `name`
        names nothing, and the stores that use it wait for it (`MilvusVectorStore`)."""
        previous = self.active()
        if previous is None:
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
