"""`evaluate` against a brute-force computation of the same protocol."""

import numpy as np
import pytest
from PIL import Image

from snapmode.model.baselines import ColourHistogramEmbedder
from snapmode.model.batches import open_rgb
from snapmode.model.data import all_views_split, held_out_split, load_products
from snapmode.model.evaluate import DEPTH, evaluate, write_report


@pytest.mark.parametrize("make_split", [held_out_split, all_views_split])
def test_evaluate_ranks_the_gallery_by_cosine_and_never_returns_the_query_itself(photo_folder, make_split):
    split = make_split(load_products(photo_folder))
    embedder = ColourHistogramEmbedder()
    result = evaluate([embedder], split, show_progress=False)[embedder.name]

    query = embedder.embed([open_rgb(p) for _, p in split.queries])
    gallery = embedder.embed([open_rgb(p) for _, p in split.gallery])
    scores = query @ gallery.T
    if split.self_index is not None:
        scores[np.arange(len(scores)), split.self_index] = -np.inf
    depth = min(DEPTH, len(split.gallery) - (split.self_index is not None))
    assert np.allclose(np.take_along_axis(scores, result.ranking, axis=1),
                       -np.sort(-scores, axis=1)[:, :depth], atol=1e-6)  # best-first, ties in either order
    labels = [label for label, _ in split.gallery]
    expected = [labels.count(label) - (split.self_index is not None) for label, _ in split.queries]
    assert result.relevant_counts.tolist() == expected
    assert result.hits.tolist() == [[labels[j] == q for j in row] for (q, _), row in zip(split.queries, result.ranking)]


class ShuffledEmbedder:
    """Random unit vectors: a method that gets most queries wrong."""

    name = model_id = "shuffled"
    dim = 8

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)

    def embed(self, images):
        vectors = self.rng.normal(size=(len(images), self.dim)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.parametrize("embedder", [ColourHistogramEmbedder(), ShuffledEmbedder()], ids=lambda e: e.name)
def test_report_shows_the_first_methods_top1_failures(photo_folder, tmp_path, embedder):
    split = all_views_split(load_products(photo_folder))
    result = evaluate([embedder], split, show_progress=False)[embedder.name]
    written = write_report({embedder.name: result}, split, tmp_path)
    assert all(path.is_file() for path in written.values())
    missed = int((~result.hits[:, 0]).sum())
    assert ("failures" in written) == (missed > 0) and (tmp_path / "failures.png").exists() == (missed > 0)
    if missed:  # one row per failure shown, as tall as the rows of the queries grid
        row = Image.open(written["grid"]).height // min(12, len(split.queries))
        assert Image.open(written["failures"]).height == min(12, missed) * row
