"""Retrieval metrics against values worked out by hand."""

import numpy as np
import pytest

from snapmode.model.metrics import precision_recall_curve, rank, relevance, retrieval_metrics


def test_metrics_match_a_hand_computed_example():
    hits = np.zeros((2, 10), dtype=bool)
    hits[0, [0, 2]] = True  # query 0: relevant at ranks 1 and 3, 2 relevant in the gallery
    hits[1, 1] = True  # query 1: relevant at rank 2, 3 relevant in the gallery
    metrics = retrieval_metrics(hits, np.array([2, 3]))
    # AP@10: q0 = (1/1 + 2/3) / 2 = 0.8333, q1 = (1/2) / 3 = 0.1667
    assert metrics == pytest.approx({"p@1": 0.5, "p@10": 0.15, "map@10": 0.5, "r@1": 0.5, "r@10": 1.0}, abs=1e-4)


def test_rank_and_relevance():
    gallery = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], dtype=np.float32)
    queries = np.array([[0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    ranking = rank(queries, gallery, 3)
    assert ranking.tolist() == [[1, 2, 0], [0, 2, 1]]
    hits = relevance(np.array(["b", "a"]), np.array(["a", "b", "b"]), ranking)
    assert hits.tolist() == [[True, True, False], [True, False, False]]


def test_precision_recall_curve():
    hits = np.array([[True, False, True, False]])
    precision, recall = precision_recall_curve(hits, np.array([2]))
    assert precision.tolist() == pytest.approx([1.0, 0.5, 2 / 3, 0.5])
    assert recall.tolist() == pytest.approx([0.5, 0.5, 1.0, 1.0])
