"""Reciprocal rank fusion: items in several rankings rise, ties keep their first order, bad k refused."""

from __future__ import annotations

import pytest

from snapmode.search.fusion import reciprocal_rank_fusion


def test_an_item_in_both_rankings_beats_the_top_of_one() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["x", "y", "c"]], k=60)
    assert fused[0] == ("c", pytest.approx(2 / 63))
    assert [item for item, _ in fused[1:]] == ["a", "x", "b", "y"]


def test_one_ranking_is_kept_as_it_is() -> None:
    assert [item for item, _ in reciprocal_rank_fusion([["p", "q", "r"]])] == ["p", "q", "r"]
    assert reciprocal_rank_fusion([[], []]) == []


def test_repeats_count_once_at_their_first_rank() -> None:
    fused = dict(reciprocal_rank_fusion([["a", "a", "b"]], k=1))
    assert fused == {"a": pytest.approx(1 / 2), "b": pytest.approx(1 / 3)}


def test_k_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="k must be"):
        reciprocal_rank_fusion([["a"]], k=0)
