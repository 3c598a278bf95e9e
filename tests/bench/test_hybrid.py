"""The hybrid search measurement: queries whose relevant products fit the words and never the photo's own product,
and a small run end to end with a colour embedder."""

from __future__ import annotations

from pathlib import Path

import pytest

from snapmode.bench.hybrid import METHODS, SITE, bench_hybrid, make_queries
from snapmode.config import Settings
from snapmode.datasets.catalog.generate import GenerateOptions, generate_catalog
from snapmode.pipeline.manifest import load_catalog
from tests.conftest import MeanColourEmbedder


def test_queries_pair_a_photo_with_another_products_word(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    generate_catalog(root, options=GenerateOptions(products=40, views=2, seed=3, workers=1, image_size=64))
    catalog = {f"{SITE}:{p.product_id}": p for p in load_catalog(root)}
    queries = make_queries(list(catalog.values()), root, seed=0)
    assert {q.kind for q in queries} == {"colour", "category"} and len(queries) <= 2 * len(catalog)
    for q in queries:
        own = next(p for p in catalog.values() if root / p.images[-1] == q.photo)
        assert q.relevant and f"{SITE}:{own.product_id}" not in q.relevant
        for key in q.relevant:
            p = catalog[key]
            if q.kind == "colour":
                assert (p.colour, p.category) == (q.words, own.category) and q.words != own.colour
            else:
                assert (p.category, p.colour) == (q.words, own.colour) and q.words != own.category
    assert make_queries(list(catalog.values()), root, seed=0) == queries


@pytest.mark.timeout(120)
def test_bench_scores_every_method(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "unused", _env_file=None)  # type: ignore[call-arg]
    report = bench_hybrid(settings, products=24, views=2, seed=5, embedder=MeanColourEmbedder())
    assert report.products == 24 and report.queries["colour"] > 0
    assert set(report.p_at_1) == set(METHODS)
    for scores in report.p_at_1.values():
        assert all(0.0 <= value <= 1.0 for value in scores.values()) and "all" in scores
    assert report.p_at_1["photo + filter"]["all"] > report.p_at_1["photo"]["all"]
    assert not (tmp_path / "unused").exists()  # a temporary data dir, never the configured one
    with pytest.raises(ValueError, match="2 views"):
        bench_hybrid(settings, products=4, views=1, embedder=MeanColourEmbedder())
