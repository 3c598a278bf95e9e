"""Model test fixtures: the device from the environment, tiny configs and a tiny folder of product photos."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from snapmode.model.config import CbirGanConfig


@pytest.fixture
def device() -> torch.device:
    """CPU unless SNAPMODE_TEST_DEVICE names another (the same suite runs on a GPU machine)."""
    return torch.device(os.environ.get("SNAPMODE_TEST_DEVICE", "cpu"))


@pytest.fixture
def tiny_config() -> CbirGanConfig:
    return CbirGanConfig(image_size=32, z_dim=16, decoder_width=32, disc_width=8, pretrained_encoder=False,
                         perceptual_taps=(1, 2), epochs=1, batch_size=8, val_fraction=0.0, lr=1e-3,
                         w_adversarial=0.05, w_perceptual=0.5, w_pixel=1.0)


def product_photo(index: int, view: int, size: int = 48) -> Image.Image:
    """A product (its own colour and shape) photographed at a view-dependent position."""
    rng = np.random.default_rng(index)
    colour = tuple(int(c) for c in rng.integers(0, 256, 3))
    image = Image.new("RGB", (size, size), (235, 235, 235))
    draw = ImageDraw.Draw(image)
    shift = 2 * view
    if index % 2:
        draw.ellipse((8 + shift, 8, 36 + shift, 40), fill=colour)
    else:
        draw.rectangle((6 + shift, 10, 34 + shift, 38), fill=colour)
    return image


@pytest.fixture
def photo_folder(tmp_path: Path) -> Path:
    """6 products x 3 views as `<product_id>/<view>.jpg`."""
    root = tmp_path / "photos"
    for index in range(6):
        folder = root / f"P{index:02d}"
        folder.mkdir(parents=True)
        for view in range(3):
            product_photo(index, view).save(folder / f"{view}.jpg", quality=95)
    return root


@pytest.fixture(autouse=True)
def _fresh_logging():
    """A CLI test configures logging onto its runner's stream, which closes: later tests log to the default again."""
    yield
    import structlog

    structlog.reset_defaults()
