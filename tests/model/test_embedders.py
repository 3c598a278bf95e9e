"""The shipped CBIR-GAN checkpoint, its construction from settings, and the colour-histogram baseline."""

import numpy as np
from PIL import Image

from snapmode.interfaces import Embedder
from snapmode.model.baselines import ColourHistogramEmbedder
from snapmode.model.checkpoint import DEFAULT_CHECKPOINT, DEFAULT_TRIPLET_CHECKPOINT, load_config
from snapmode.model.embedder import CbirGanEmbedder
from snapmode.platform import build_embedder

from .conftest import product_photo


def test_shipped_checkpoints_are_small_and_complete():
    for folder in (DEFAULT_CHECKPOINT, DEFAULT_TRIPLET_CHECKPOINT):
        assert {"model.safetensors", "config.json", "metrics.json"} <= {p.name for p in folder.iterdir()}
    assert sum(p.stat().st_size for p in DEFAULT_CHECKPOINT.iterdir()) <= 40 * 2**20  # weights and int8 graph
    assert load_config(DEFAULT_CHECKPOINT).reconstruct and not load_config(DEFAULT_TRIPLET_CHECKPOINT).reconstruct


def test_settings_build_the_shipped_cbir_gan(settings):
    embedder = build_embedder(settings.model_copy(update={"embedder": "cbir-gan", "device": "cpu",
                                                          "embed_runtime": "torch"}))
    assert isinstance(embedder, Embedder) and isinstance(embedder, CbirGanEmbedder)
    assert embedder.name == "cbir-gan" and embedder.dim == 256
    images = [product_photo(1, 0, 96), product_photo(1, 2, 96), product_photo(2, 0, 96)]
    vectors = embedder.embed(images)
    assert vectors.shape == (3, 256) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]  # another view of the same product is closer


def test_settings_checkpoint_path_is_used(settings, tmp_path):
    import shutil

    copy = tmp_path / "ck"
    shutil.copytree(DEFAULT_TRIPLET_CHECKPOINT, copy)
    embedder = build_embedder(settings.model_copy(update={"embedder": "cbir-gan", "model_checkpoint": copy,
                                                          "device": "cpu"}))
    assert embedder.checkpoint == copy


def test_colour_histogram_prefers_the_same_colour():
    embedder = ColourHistogramEmbedder()
    red, red_too, blue = (Image.new("RGB", (30, 30), c) for c in ((200, 20, 20), (205, 25, 22), (20, 20, 200)))
    vectors = embedder.embed([red, red_too, blue])
    assert vectors.shape == (3, 512)
    assert vectors[0] @ vectors[1] > 0.99 > vectors[0] @ vectors[2]
