"""Triplet mining and the triplet loss on a hand-made batch whose distances are known."""

import pytest
import torch

from snapmode.model.losses import triplet_loss
from snapmode.model.mining import mine_triplets, pairwise_distances

# Points on a line: products A (0.0, 0.4), B (0.6, 2.0) and C (-0.3), which has no positive.
Z = torch.tensor([[0.0, 0.0], [0.4, 0.0], [0.6, 0.0], [2.0, 0.0], [-0.3, 0.0]])
LABELS = torch.tensor([0, 0, 1, 1, 2])


def triplets(mining: str) -> set[tuple[int, int, int]]:
    a, p, n = mine_triplets(pairwise_distances(Z), LABELS, mining=mining)
    return set(zip(a.tolist(), p.tolist(), n.tolist()))


def test_pairwise_distances():
    d = pairwise_distances(Z)
    assert d[0, 3] == pytest.approx(2.0)
    assert d[3, 4] == pytest.approx(2.3)
    assert torch.all(d.diagonal() == 0)


def test_hard_mining_picks_the_closest_negative():
    # (0,1): negatives at 0.6, 2.0, 0.3 -> 4; (1,0): 0.2, 1.6, 0.7 -> 2; (2,3): 0.6, 0.2, 0.9 -> 1; (3,2): 2.0, 1.6, 2.3 -> 1
    assert triplets("hard") == {(0, 1, 4), (1, 0, 2), (2, 3, 1), (3, 2, 1)}


def test_semihard_mining_picks_the_closest_negative_beyond_the_positive():
    # (0,1) d_ap 0.4: beyond it 0.6 (2), 2.0 (3) -> 2.  (1,0) d_ap 0.4: 0.7 (4), 1.6 (3) -> 4.
    # (2,3) d_ap 1.4: no negative beyond -> the farthest, 0.9 (4).  (3,2) d_ap 1.4: 1.6 (1), 2.0, 2.3 -> 1.
    assert triplets("semihard") == {(0, 1, 2), (1, 0, 4), (2, 3, 4), (3, 2, 1)}


def test_semihard_triplet_loss_value():
    loss, active = triplet_loss(Z, LABELS, margin=0.5, mining="semihard")
    # relu(d_ap - d_an + 0.5): 0.4-0.6+0.5, 0.4-0.7+0.5, 1.4-0.9+0.5, 1.4-1.6+0.5 = 0.3, 0.2, 1.0, 0.3
    assert loss.item() == pytest.approx((0.3 + 0.2 + 1.0 + 0.3) / 4, abs=1e-5)
    assert active == 4


def test_batch_without_positives_gives_zero_loss():
    loss, active = triplet_loss(Z, torch.arange(5), margin=0.2)
    assert loss.item() == 0.0 and active == 0


def test_unknown_mining_is_refused():
    with pytest.raises(ValueError, match="unknown mining"):
        triplets("easy")
