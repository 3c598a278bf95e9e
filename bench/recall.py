"""Recall of a vector index against exact search: the exact nearest stored vectors of each query, kept up to date
while a store is filled batch by batch (no second pass over a million vectors), and the share of them the index
returns."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class ExactNearest:
    """The `k` stored vectors of highest cosine similarity (dot product of unit vectors) to each query."""

    def __init__(self, queries: np.ndarray, k: int = 10) -> None:
        self.queries = np.asarray(queries, dtype=np.float32)
        self.k = k
        self.ids: list[str] = []  # every vector added, by position
        self.top = np.zeros((len(self.queries), 0), dtype=np.int64)  # positions, best first
        self.scores = np.zeros((len(self.queries), 0), dtype=np.float32)

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        if not len(ids):
            return
        positions = np.arange(len(self.ids), len(self.ids) + len(ids))
        self.ids.extend(ids)
        scores = np.concatenate([self.scores, self.queries @ np.asarray(vectors, dtype=np.float32).T], axis=1)
        candidates = np.concatenate([self.top, np.broadcast_to(positions, (len(self.queries), len(ids)))], axis=1)
        keep = min(self.k, scores.shape[1])
        best = np.argpartition(-scores, keep - 1, axis=1)[:, :keep]  # the top `keep`, in no order
        best = np.take_along_axis(best, np.argsort(-np.take_along_axis(scores, best, axis=1), axis=1), axis=1)
        self.scores = np.take_along_axis(scores, best, axis=1)
        self.top = np.take_along_axis(candidates, best, axis=1)

    def nearest(self) -> list[list[str]]:
        return [[self.ids[p] for p in row] for row in self.top]


def recall_at(found: Sequence[Sequence[str]], exact: Sequence[Sequence[str]]) -> float:
    """Mean over the queries of the share of the exact nearest ids among those found (as many as the exact ones)."""
    shares = [len(set(f[:len(e)]) & set(e)) / len(e) for f, e in zip(found, exact) if e]
    return float(np.mean(shares)) if shares else float("nan")
