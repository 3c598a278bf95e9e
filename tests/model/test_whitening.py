"""The whitening that the CBIR-GAN's projection can start from: learned from unlabeled images, kept by the
distillation."""

import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from snapmode.model.trainer import Trainer
from snapmode.model.whitening import fit_whitening, set_whitening


def correlated(n: int = 4000, d: int = 6, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    mixing = torch.randn(d, d, generator=generator) * torch.linspace(0.1, 3.0, d)
    return torch.randn(n, d, generator=generator) @ mixing + 5.0


def test_a_full_whitening_leaves_unit_uncorrelated_variances():
    x = correlated()
    mean, matrix = fit_whitening(x, power=1.0, shrinkage=0.0)
    white = (x - mean) @ matrix
    assert torch.allclose(white.mean(dim=0), torch.zeros(6), atol=1e-4)
    assert torch.allclose(torch.cov(white.T), torch.eye(6), atol=1e-3)


def test_power_zero_only_centres_and_shrinkage_tempers_the_rare_directions():
    x = correlated()
    mean, rotation = fit_whitening(x, power=0.0)
    assert torch.allclose(rotation @ rotation.T, torch.eye(6), atol=1e-5), "distances are kept"
    spread = lambda shrinkage: torch.cov(((x - mean) @ fit_whitening(x, power=1.0, shrinkage=shrinkage)[1]).T)
    variances = torch.diagonal(spread(0.1))
    assert variances.max() < 1.0 and variances.max() / variances.min() > 2, "rare directions are raised less"
    with pytest.raises(ValueError, match="n >= 2"):
        fit_whitening(x[:1])
    with pytest.raises(ValueError, match="do not vary"):
        fit_whitening(torch.ones(5, 6))


def test_set_whitening_makes_the_projection_compute_it():
    x = correlated(n=50)
    mean, matrix = fit_whitening(x, power=0.5)
    projection = nn.Linear(6, 6)
    set_whitening(projection, mean, matrix)
    assert torch.allclose(projection(x), (x - mean) @ matrix, atol=1e-4)


def test_a_whitened_generator_starts_at_the_whitening_and_its_distillation_keeps_it(tiny_config):
    with pytest.raises(ValueError, match="1280"):
        tiny_config.with_overrides(z_dim=2048, whitening="openclipart")
    assert tiny_config.with_overrides(whitening="openclipart").z_dim == 16, "the top 16 directions kept"
    with pytest.raises(ValueError, match="unknown whitening"):
        tiny_config.with_overrides(z_dim=1280, whitening="wallpapers")
    config = tiny_config.with_overrides(z_dim=1280, identity_projection=True, whitening="openclipart", w_distill=1.0,
                                        whitening_power=0.5, pretrained_encoder=True)
    assert config.architecture != tiny_config.with_overrides(z_dim=1280).architecture, "a checkpoint says if it whitens"
    trainer = Trainer(config, torch.device("cpu"))
    drawings = [Image.new("RGB", (40, 30), (i * 7 % 256, i * 13 % 256, i * 29 % 256)) for i in range(40)]
    for i, image in enumerate(drawings):
        image.paste((255 - i * 5, 20, i * 6), (i % 20, i % 15, i % 20 + 12, i % 15 + 10))
    trainer.whiten(drawings)

    encoder = trainer.generator.encoder.eval()
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        pooled = encoder.pooled(x)
        assert torch.allclose(pooled.norm(dim=1), torch.ones(3), atol=1e-5), "the whitening sees unit features"
        weight, bias = encoder.project.weight, encoder.project.bias
        assert not torch.allclose(weight, torch.eye(1280)), "the projection is no longer the identity"
        assert torch.allclose(encoder(x), F.normalize(pooled @ weight.T + bias, dim=1), atol=1e-5)
        encoder.project.weight.add_(0.01)  # training moves the projection; the teacher stays where z started
        teacher = trainer.teacher_projection
        assert teacher is not None and torch.allclose(teacher.weight + 0.01, encoder.project.weight)
        assert not teacher.weight.requires_grad


def test_keep_gives_the_directions_of_most_variance_largest_first():
    x = correlated()
    mean, full = fit_whitening(x, power=0.0)
    _, kept = fit_whitening(x, power=0.0, keep=2)
    assert kept.shape == (6, 2)
    torch.testing.assert_close(kept, full[:, :2])
    spread = ((x - mean) @ full).var(dim=0)
    assert (spread[:-1] >= spread[1:]).all(), "directions sorted by variance, largest first"
    with pytest.raises(ValueError, match="between 1 and 6"):
        fit_whitening(x, keep=7)
