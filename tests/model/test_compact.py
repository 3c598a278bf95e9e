"""Compact codes: a checkpoint whose projection keeps the top principal directions of another's codes."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from snapmode.cli.main import app
from safetensors.torch import load_file

from snapmode.model.checkpoint import (DEFAULT_CHECKPOINT, DEFAULT_TRIPLET_CHECKPOINT, METRICS, WEIGHTS, load_config,
                                       load_generator, weights_digest)
from snapmode.model.compact import compact_checkpoint, compact_generator
from snapmode.model.export import graph_path
from snapmode.model.preprocess import to_tensor
from snapmode.model.runtime import read_graph_props
from snapmode.model.whitening import fit_whitening

from .conftest import product_photo
from .test_export import real_photos

runner = CliRunner()


def photos() -> list:
    return real_photos() + [product_photo(i, v, size=96) for i in range(20) for v in range(2)]


@pytest.fixture(scope="module")
def shipped():
    return load_generator(DEFAULT_CHECKPOINT)


def test_the_compact_codes_are_the_principal_directions_of_the_long_ones_folded_into_the_projection(shipped):
    generator, config = shipped
    images = photos()
    compact, fitted = compact_generator(generator, config, images, dims=16, power=0.4)
    batch = to_tensor(images, config.input_size)
    with torch.no_grad():
        pooled = generator.encoder.pooled(batch)
        codes = generator.encoder.project(pooled)
        mean, matrix = fit_whitening(codes, power=0.4, shrinkage=0.01, keep=16)
        expected = F.normalize((codes - mean) @ matrix, dim=1)
        short = compact.encoder(batch)
    assert short.shape == (len(images), 16) and fitted["dims"] == 16 and fitted["from_dims"] == config.z_dim
    torch.testing.assert_close(short, expected, atol=1e-4, rtol=1e-4)
    assert 0 < fitted["variance_kept"] < 1
    # the trunk is the same: only the code's ends changed
    assert torch.equal(compact.encoder.trunk.net._conv_head.weight, generator.encoder.trunk.net._conv_head.weight)


def test_the_decoder_starts_from_the_short_codes_where_it_started_from_the_long_ones(shipped):
    generator, config = shipped
    images = photos()
    compact, _ = compact_generator(generator, config, images, dims=32, power=0.0)
    batch = to_tensor(images, config.input_size)
    with torch.no_grad():
        long_codes, short_codes = generator.encoder(batch), compact.encoder(batch)
        before, after = generator.decoder.start(long_codes), compact.decoder.start(short_codes)
        other = generator.decoder.start(long_codes.roll(1, dims=0))  # another photo's start
        start = generator.decoder.start
        truncated = short_codes @ start.weight[:, :32].T + start.bias  # the old layer cut to the new code's length
    error, unrelated = (after - before).norm(dim=1).mean(), (other - before).norm(dim=1).mean()
    assert error < 0.75 * unrelated and error < 0.5 * (truncated - before).norm(dim=1).mean(), (error, unrelated)


def test_compact_codes_are_shorter_and_fitted_on_more_images_than_directions(shipped):
    generator, config = shipped
    with pytest.raises(ValueError, match="shorter"):
        compact_generator(generator, config, photos(), dims=config.z_dim, power=0.4)
    with pytest.raises(ValueError, match="more than 128 images"):
        compact_generator(generator, config, photos(), dims=128, power=0.4)


def test_a_triplet_checkpoint_compacts_without_a_discriminator_and_keeps_its_training_record(tmp_path):
    out, summary = compact_checkpoint(DEFAULT_TRIPLET_CHECKPOINT, tmp_path / "short", photos(), dims=16, power=0.4)
    generator, config = load_generator(out)
    assert config.z_dim == 16 and not config.reconstruct and generator.decoder is None
    assert not any(key.startswith("discriminator.") for key in load_file(str(out / WEIGHTS)))
    trained = json.loads((DEFAULT_TRIPLET_CHECKPOINT / METRICS).read_text())
    metrics = json.loads((out / METRICS).read_text())
    assert metrics["compact"] == summary and metrics["val"] == trained["val"]


def test_snapmode_compact_writes_a_checkpoint_and_its_graph_that_embed_short_codes(tmp_path, monkeypatch):
    import snapmode.datasets.realsets.clipart as clipart

    monkeypatch.setattr(clipart, "drawings", lambda cache, count, *, seed=0, track=None: (photos()[:count], None))
    out = tmp_path / "short"
    result = runner.invoke(app, ["compact", str(out), "--dims", "24", "--drawings", "60", "--calibration", "16",
                                 "--json", "--no-progress"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["dims"] == 24 and summary["compacted_from"] == f"cbir-gan:{weights_digest(DEFAULT_CHECKPOINT)}"
    assert load_config(out).z_dim == 24
    props = read_graph_props(graph_path(out))
    assert props["snapmode.dim"] == "24" and props["snapmode.model_id"] == f"cbir-gan:{weights_digest(out)}"
    from snapmode.model.runtime import GraphEmbedder

    codes = GraphEmbedder(out, runtime="onnxruntime").embed(real_photos()[:4])
    assert codes.shape == (4, 24)
    np.testing.assert_allclose(np.linalg.norm(codes, axis=1), 1.0, atol=1e-5)


def test_snapmode_compact_refuses_longer_codes_and_an_existing_checkpoint(tmp_path):
    result = runner.invoke(app, ["compact", str(tmp_path / "x"), "--dims", "1280"], env={"COLUMNS": "300"})
    assert result.exit_code == 2 and "shorter" in result.output
    result = runner.invoke(app, ["compact", str(DEFAULT_CHECKPOINT.parent / "triplet"), "--dims", "64"],
                           env={"COLUMNS": "300"})
    assert result.exit_code == 2 and "already holds a checkpoint" in result.output
