"""Retrieval metrics against values worked out by hand."""

import numpy as np
import pytest

from snapmode.model.evaluate import MethodResult, paired_top1
from snapmode.model.metrics import precision_recall_curve, rank, relevance, retrieval_metrics, sign_test


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


def test_rank_never_returns_the_excluded_index():
    vectors = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]], dtype=np.float32)
    ranking = rank(vectors, vectors, 5, exclude=np.arange(3))  # leave-one-out: each row is also a gallery photo
    assert ranking.tolist() == [[1, 2], [0, 2], [1, 0]]


def test_precision_recall_curve():
    hits = np.array([[True, False, True, False]])
    precision, recall = precision_recall_curve(hits, np.array([2]))
    assert precision.tolist() == pytest.approx([1.0, 0.5, 2 / 3, 0.5])
    assert recall.tolist() == pytest.approx([0.5, 0.5, 1.0, 1.0])


def test_sign_test_matches_the_binomial_tails():
    assert sign_test(0, 6) == pytest.approx(2 / 64)  # all six disagreements one way: 2 * 0.5^6
    assert sign_test(1, 5) == pytest.approx(2 * 7 / 64)  # (C(6,0) + C(6,1)) / 2^6, both tails
    assert sign_test(3, 3) == 1.0
    assert sign_test(0, 0) == 1.0
    assert sign_test(40, 20) == pytest.approx(sign_test(20, 40))
    assert sign_test(40, 20) < 0.02 < sign_test(12, 8)


def test_paired_top1_counts_the_queries_each_method_alone_gets_right():
    def result(name, top1):
        hits = np.zeros((len(top1), 10), dtype=bool)
        hits[:, 0] = top1
        return MethodResult(name, {}, np.zeros((len(top1), 10), int), hits, np.ones(len(top1), int))

    first = result("a", [True, True, True, False, False])
    other = result("b", [True, False, False, True, False])
    text = paired_top1({"a": first, "b": other})
    assert "- b: a alone right on 2, b alone right on 1, p = 1" in text
