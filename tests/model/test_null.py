"""The null embedder: a deterministic unit vector per image, as long as the configured model's, never for serving."""

import numpy as np
import pytest
from typer.testing import CliRunner

from snapmode.cli.main import app
from snapmode.interfaces import EmbedderUnavailable
from snapmode.platform import Platform, build_embedder, embedder_identity

from .conftest import product_photo


def test_null_vectors_are_unit_deterministic_and_tell_images_apart(settings):
    embedder = build_embedder(settings.model_copy(update={"embedder": "null"}))
    assert embedder.name == "null" and embedder.dim == 256  # the shipped checkpoint's codes
    assert embedder_identity(settings.model_copy(update={"embedder": "null"})) == ("null-256", 256)
    a, b = product_photo(1, 0, 96), product_photo(2, 0, 96)
    vectors = embedder.embed([a, b, a.copy()])
    assert vectors.shape == (3, 256) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(vectors[0], vectors[2])  # the same pixels, the same vector: replays overwrite
    assert abs(float(vectors[0] @ vectors[1])) < 0.2  # two images: unrelated directions
    assert embedder.embed([]).shape == (0, 256)


def test_the_null_embedder_neither_serves_nor_is_submitted(settings, cli_env):
    with pytest.raises(EmbedderUnavailable, match="bench ingest --embedder null"):
        Platform.build(settings.model_copy(update={"embedder": "null"}))
    cli_env(EMBEDDER="null", MILVUS_URI="http://127.0.0.1:1", SOLR_URL="http://127.0.0.1:1/solr/products")
    result = CliRunner().invoke(app, ["topology", "submit"])
    assert result.exit_code == 2 and "null embedder only measures" in result.output
