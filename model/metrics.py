"""Retrieval metrics over ranked results: precision@k, recall@k (a hit in the top k) and mAP@k."""

from __future__ import annotations

from math import comb

import numpy as np


def rank(query_vectors: np.ndarray, gallery_vectors: np.ndarray, k: int,
         exclude: np.ndarray | None = None) -> np.ndarray:
    """Indices of the k most similar gallery rows for each query (cosine on unit vectors), best first; `exclude`
    holds one gallery index per query that is never returned for it (the query itself in leave-one-out)."""
    k = min(k, len(gallery_vectors) - (exclude is not None))
    scores = query_vectors @ gallery_vectors.T
    if exclude is not None:
        scores[np.arange(len(scores)), exclude] = -np.inf
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(scores, top, axis=1).argsort(axis=1, kind="stable")[:, ::-1]
    return np.take_along_axis(top, order, axis=1)


def relevance(query_labels: np.ndarray, gallery_labels: np.ndarray, ranking: np.ndarray) -> np.ndarray:
    """(queries, k) booleans: is the result at each rank a photo of the query's product?"""
    return gallery_labels[ranking] == query_labels[:, None]


def retrieval_metrics(hits: np.ndarray, relevant_counts: np.ndarray) -> dict[str, float]:
    """P@1, P@10, mAP@10, R@1, R@10 from (queries, >= 10) hit flags and each query's number of relevant gallery photos.

    P@k: the share of the top k that are relevant. R@k: the share of queries with a relevant photo in the top k (the
    Recall@K of the metric-learning literature, e.g. DeepFashion In-shop). mAP@10: the mean over queries of
    sum_{i<=10} P@i * rel_i / min(10, relevant).
    """
    hits = np.asarray(hits, dtype=bool)
    relevant_counts = np.asarray(relevant_counts)
    assert hits.ndim == 2 and len(hits) == len(relevant_counts), "hits must be (queries, k) with one count per query"
    top = hits[:, :10].astype(np.float64)
    precision_at = np.cumsum(top, axis=1) / np.arange(1, top.shape[1] + 1)
    denominator = np.maximum(np.minimum(relevant_counts, 10), 1)
    average_precision = (precision_at * top).sum(axis=1) / denominator
    return {
        "p@1": float(top[:, :1].mean()),
        "p@10": float(top[:, :10].sum(axis=1).mean() / 10),
        "map@10": float(average_precision.mean()),
        "r@1": float(top[:, :1].any(axis=1).mean()),
        "r@10": float(top[:, :10].any(axis=1).mean()),
    }


def precision_recall_curve(hits: np.ndarray, relevant_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean precision and mean recall (share of the relevant photos found) at each cut-off k = 1..hits.shape[1]."""
    hits = np.asarray(hits, dtype=np.float64)
    found = np.cumsum(hits, axis=1)
    precision = (found / np.arange(1, hits.shape[1] + 1)).mean(axis=0)
    recall = (found / np.maximum(np.asarray(relevant_counts)[:, None], 1)).mean(axis=0)
    return precision, recall


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test (McNemar's exact test) on paired outcomes: the probability of a split at least this
    uneven between `wins` and `losses` if both were equally likely. Ties carry no information and are left out."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(comb(n, i) for i in range(min(wins, losses) + 1))
    return min(1.0, 2 * tail / 2 ** n)
