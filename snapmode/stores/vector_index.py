"""The vector index a Milvus collection is built with, and the parameters its searches use: from settings.

HNSW keeps every vector as float32 beside its graph (about 1.1 x the raw vectors in memory) and answers in few
distance computations; IVF_SQ8 clusters the vectors and keeps one byte a dimension (about 0.27 x the raw vectors), a
query scanning `nprobe` of `nlist` clusters; IVF_FLAT the same at full precision; FLAT scans everything (exact).
milvus-lite builds FLAT and IVF_FLAT only; unset, the index is HNSW on a Milvus server and `LITE_DEFAULT` on
milvus-lite.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from snapmode.config import Settings

IndexType = Literal["HNSW", "IVF_SQ8", "IVF_FLAT", "FLAT"]
INDEX_TYPES: tuple[IndexType, ...] = ("HNSW", "IVF_SQ8", "IVF_FLAT", "FLAT")
LITE_INDEX_TYPES: tuple[IndexType, ...] = ("IVF_FLAT", "FLAT")  # what milvus-lite's local mode builds
SERVER_DEFAULT: IndexType = "HNSW"
LITE_DEFAULT: IndexType = "FLAT"
METRIC = "COSINE"


@dataclass(frozen=True)
class VectorIndex:
    kind: IndexType | None = None  # None: the engine's default (`for_engine`)
    hnsw_m: int = 16
    hnsw_ef_construction: int = 128
    ivf_nlist: int = 1024
    search_ef: int = 128  # HNSW: candidates a search keeps (at least k)
    search_nprobe: int = 32  # IVF: clusters a search scans

    @classmethod
    def from_settings(cls, settings: Settings) -> VectorIndex:
        return cls(kind=settings.vector_index, hnsw_m=settings.hnsw_m,
                   hnsw_ef_construction=settings.hnsw_ef_construction, ivf_nlist=settings.ivf_nlist,
                   search_ef=settings.search_ef, search_nprobe=settings.search_nprobe)

    def for_engine(self, *, lite: bool) -> VectorIndex:
        """This index with its kind decided for milvus-lite (`lite`) or a Milvus server."""
        return self if self.kind is not None else replace(self, kind=LITE_DEFAULT if lite else SERVER_DEFAULT)

    def unbuildable(self, *, lite: bool) -> str | None:
        """Why the engine cannot build this index (None: it can)."""
        if lite and self.type not in LITE_INDEX_TYPES:
            return (f"milvus-lite builds {' or '.join(LITE_INDEX_TYPES)} indexes, not {self.type}: unset "
                    "SNAPMODE_VECTOR_INDEX (or choose one of those), or use a Milvus server (SNAPMODE_MILVUS_URI)")
        return None

    @property
    def type(self) -> IndexType:
        """The kind decided (`for_engine`): the server's default while undecided."""
        return self.kind or SERVER_DEFAULT

    def build_params(self) -> dict[str, int]:
        """The index's parameters when a collection is made."""
        if self.type == "HNSW":
            return {"M": self.hnsw_m, "efConstruction": self.hnsw_ef_construction}
        if self.type in ("IVF_SQ8", "IVF_FLAT"):
            return {"nlist": self.ivf_nlist}
        return {}

    def search_params(self, built: str, k: int) -> dict[str, object]:
        """Search parameters for a collection whose index is of type `built` (which may differ from `kind`: a
        collection keeps the index it was made with until `snapmode reindex`)."""
        if built.startswith("HNSW"):
            params: dict[str, int] = {"ef": max(self.search_ef, k)}
        elif built.startswith("IVF"):
            params = {"nprobe": self.search_nprobe}
        else:
            params = {}
        return {"metric_type": METRIC, "params": params}

