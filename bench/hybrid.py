"""Measure words with a photo ("this, but in red") on the sample catalog: P@1 of the photo alone, the words alone,
both fused, and the photo with the word as an exact filter.

Each product's last view is held out of the index and is the query photo. A colour query pairs it with another
colour: the relevant products are those of the photo's category in that colour. A category query pairs it with
another category: the relevant products are those of that category in the photo's colour. The photo's own product
is never relevant, so the photo alone can only find a relevant product by chance.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from snapmode.config import Settings
from snapmode.datasets.catalog.generate import GenerateOptions, generate_catalog
from snapmode.interfaces import Embedder, SearchFilter
from snapmode.pipeline.manifest import CatalogProduct, load_catalog, to_record
from snapmode.platform import Platform
from snapmode.search.service import SearchResult, SearchService
from snapmode.stores.factory import build_stores

SITE = "sample-shop"
METHODS = ("photo", "words", "photo + words", "photo + filter")
Kind = Literal["colour", "category"]


@dataclass(frozen=True)
class HybridQuery:
    photo: Path
    words: str  # a colour or category name
    kind: Kind
    relevant: frozenset[str]  # product keys


@dataclass
class HybridReport:
    products: int
    queries: dict[str, int]  # by kind
    p_at_1: dict[str, dict[str, float]] = field(default_factory=dict)  # method -> kind or "all" -> P@1

    def as_dict(self) -> dict[str, object]:
        return {"products": self.products, "queries": self.queries, "p_at_1": self.p_at_1}


def make_queries(products: Sequence[CatalogProduct], root: Path, site: str = SITE, seed: int = 0) -> list[HybridQuery]:
    """One colour and one category query per product where some other product fits (chosen at random by `seed`)."""
    rng = np.random.default_rng(seed)
    keys: dict[tuple[str | None, str | None], set[str]] = defaultdict(set)
    for p in products:
        keys[(p.category, p.colour)].add(f"{site}:{p.product_id}")
    colours = sorted({p.colour for p in products if p.colour})
    categories = sorted({p.category for p in products if p.category})
    queries = []
    for p in products:
        photo = Path(root) / p.images[-1]
        for kind, options in (("colour", [(p.category, c) for c in colours if c != p.colour]),
                              ("category", [(c, p.colour) for c in categories if c != p.category])):
            fitting = [pair for pair in options if keys.get(pair)]
            if fitting:
                pair = fitting[int(rng.integers(len(fitting)))]
                word = pair[1] if kind == "colour" else pair[0]
                queries.append(HybridQuery(photo, str(word), kind, frozenset(keys[pair])))  # type: ignore[arg-type]
    return queries


def evaluate(search: SearchService, queries: Sequence[HybridQuery]) -> dict[str, dict[str, float]]:
    """P@1 of each method, by query kind and over all queries."""
    vectors = {q.photo: search.embed_image(q.photo.read_bytes()) for q in queries}
    methods: dict[str, Callable[[HybridQuery], list[SearchResult]]] = {
        "photo": lambda q: search.search_vector(vectors[q.photo], 1),
        "words": lambda q: search.search_hybrid(None, q.words, 1),
        "photo + words": lambda q: search.search_hybrid(vectors[q.photo], q.words, 1),
        "photo + filter": lambda q: search.search_vector(vectors[q.photo], 1, SearchFilter(**{q.kind: q.words})),
    }
    scores: dict[str, dict[str, float]] = {}
    for name, run in methods.items():
        hits: dict[str, list[bool]] = defaultdict(list)
        for q in queries:
            results = run(q)
            hit = bool(results) and results[0].product_key in q.relevant
            hits[q.kind].append(hit)
            hits["all"].append(hit)
        scores[name] = {kind: round(float(np.mean(hits[kind])), 4) for kind in ("colour", "category", "all")
                        if hits[kind]}
    return scores


def bench_hybrid(settings: Settings, *, products: int = 300, views: int = 4, seed: int = 7,
                 embedder: Embedder | None = None) -> HybridReport:
    """Generate a catalog, index all but each product's last view in a temporary embedded data dir, and score."""
    if views < 2:
        raise ValueError("each product needs at least 2 views: one indexed, the last one held out as the query")
    with tempfile.TemporaryDirectory(prefix="snapmode-hybrid-") as tmp:
        root = Path(tmp) / "catalog"
        generate_catalog(root, options=GenerateOptions(products=products, views=views, seed=seed))
        catalog = load_catalog(root)
        local = settings.model_copy(update={"data_dir": Path(tmp) / "data", "milvus_uri": None, "solr_url": None,
                                            "redis_url": None})
        if embedder is None:
            platform = Platform.build(local)
        else:
            vectors, metadata = build_stores(local, embedder.dim)
            platform = Platform(settings=local, embedder=embedder, vectors=vectors, metadata=metadata)
        try:
            platform.runner().run(to_record(p.model_copy(update={"images": p.images[:-1]}), root, SITE)
                                  for p in catalog)
            queries = make_queries(catalog, root, SITE, seed)
            counts = {kind: sum(q.kind == kind for q in queries) for kind in ("colour", "category")}
            return HybridReport(products=len(catalog), queries=counts, p_at_1=evaluate(platform.search, queries))
        finally:
            platform.close()
