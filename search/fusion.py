"""Reciprocal rank fusion: one ranking from several, each item scored by the sum of 1 / (k + rank) over them."""

from __future__ import annotations

from collections.abc import Sequence

RRF_K = 60  # the constant of Cormack et al. (2009): damps the weight of the very first ranks


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Items of all `rankings` (each best first, ranks from 1) with their fused score, best first.

    Ties keep the order in which items first appear, earlier rankings first.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(dict.fromkeys(ranking), start=1):  # a repeated item counts at its first rank
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])
