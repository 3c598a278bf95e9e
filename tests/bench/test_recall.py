"""Exact nearest neighbours kept across batches, and recall against them."""

import numpy as np
import pytest

from snapmode.bench.recall import ExactNearest, recall_at


def test_exact_nearest_across_batches_equals_one_brute_force_pass() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((1000, 24)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[[5, 500, 999]] + 0.05 * rng.standard_normal((3, 24)).astype(np.float32)
    ids = [f"v{i}" for i in range(1000)]
    exact = ExactNearest(queries, k=10)
    for start in range(0, 1000, 137):  # batches that do not divide the store
        exact.add(ids[start:start + 137], vectors[start:start + 137])
    brute = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    assert exact.nearest() == [[ids[i] for i in row] for row in brute]
    assert [row[0] for row in exact.nearest()] == ["v5", "v500", "v999"]


def test_recall_counts_the_exact_neighbours_found() -> None:
    exact = [["a", "b", "c", "d"], ["e", "f", "g", "h"]]
    assert recall_at([["a", "b", "c", "d"], ["e", "f", "x", "y"]], exact) == pytest.approx(0.75)
    assert recall_at([["d", "c", "b", "a", "z"], ["h", "g", "f", "e"]], exact) == 1.0  # order does not matter
    assert recall_at([["z", "a", "b", "c"], []], exact) == pytest.approx(0.375)  # only as many as the exact ones
