"""The CPU inference graph: exported from a checkpoint, the same codes as torch on real photos, refused when stale."""

import json
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib
import numpy as np
import onnx
import pytest
import structlog
from PIL import Image
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from snapmode.cli.main import app
from snapmode.interfaces import Embedder
from snapmode.model.checkpoint import DEFAULT_CHECKPOINT, WEIGHTS
from snapmode.model.embedder import CbirGanEmbedder
from snapmode.model.export import INT8_GRAPH, export_graph, graph_path
from snapmode.model.runtime import GraphEmbedder, GraphMismatch, read_graph_props
from snapmode.platform import build_cbir_gan

from .conftest import product_photo

runner = CliRunner()
SAMPLES = Path(matplotlib.get_data_path()) / "sample_data"


def real_photos() -> list[Image.Image]:
    """The photographs that ship with matplotlib, each whole and as crops, shifted and mirrored: 24 real views."""
    views = []
    for name in ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png"):
        image = Image.open(SAMPLES / name).convert("RGB")
        w, h = image.size
        for i, (x0, y0, x1, y1) in enumerate([(0, 0, 1, 1), (0, 0, .7, .7), (.3, .3, 1, 1), (.1, .2, .9, .8),
                                              (.2, 0, .8, .6), (0, .4, .6, 1)]):
            crop = image.crop((int(x0 * w), int(y0 * h), int(x1 * w), int(y1 * h)))
            views += [crop, crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    return views


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


@pytest.mark.parametrize("runtime", ["openvino", "onnxruntime"])
def test_the_shipped_int8_graph_gives_the_torch_codes_on_real_photos(runtime):
    photos = real_photos()
    graph = GraphEmbedder(runtime=runtime)
    torch_model = CbirGanEmbedder(device="cpu")
    assert isinstance(graph, Embedder) and graph.model_id == torch_model.model_id and graph.dim == torch_model.dim
    codes = graph.embed(photos)
    np.testing.assert_allclose(np.linalg.norm(codes, axis=1), 1.0, atol=1e-5)
    agreement = cosines(codes, torch_model.embed(photos))
    assert agreement.mean() >= 0.99 and agreement.min() >= 0.95, agreement


def test_both_runtimes_agree_and_answer_threads_at_once():
    photos = real_photos()[:8]
    a = GraphEmbedder(runtime="onnxruntime").embed(photos)
    openvino = GraphEmbedder(runtime="openvino", threads=1, batch_size=2)
    with ThreadPoolExecutor(4) as pool:  # the API embeds query batches from its own threads
        answers = list(pool.map(lambda i: openvino.embed(photos[i:i + 4]), [0, 4, 0, 4]))
    b = np.concatenate(answers[:2])
    assert cosines(a, b).min() >= 0.99
    np.testing.assert_array_equal(np.concatenate(answers[2:]), b)


def test_export_writes_the_checkpoint_identity_and_float32_matches_torch(tmp_path):
    checkpoint = tmp_path / "ck"
    shutil.copytree(DEFAULT_CHECKPOINT, checkpoint, ignore=shutil.ignore_patterns("*.onnx", "*.png"))
    photos = real_photos()
    path = export_graph(checkpoint, photos[:16])
    assert path == graph_path(checkpoint) and path.name == INT8_GRAPH
    props = read_graph_props(path)
    assert props["snapmode.model_id"] == CbirGanEmbedder(checkpoint, device="cpu").model_id
    assert (props["snapmode.dim"], props["snapmode.precision"], props["snapmode.calibration_images"]) == \
        ("256", "int8", "16")
    fp32 = export_graph(checkpoint, [], int8=False)
    reference = CbirGanEmbedder(checkpoint, device="cpu").embed(photos[:6])
    assert cosines(GraphEmbedder(checkpoint, int8=False).embed(photos[:6]), reference).min() > 0.9999
    assert read_graph_props(fp32)["snapmode.precision"] == "float32"
    with pytest.raises(ValueError, match="at least 16 calibration images"):
        export_graph(checkpoint, photos[:3])


def test_a_graph_of_other_weights_or_none_is_refused_in_one_line(tmp_path):
    checkpoint = tmp_path / "ck"
    shutil.copytree(DEFAULT_CHECKPOINT, checkpoint, ignore=shutil.ignore_patterns("*.png"))
    tensors = load_file(str(checkpoint / WEIGHTS))
    tensors["generator.encoder.project.bias"] = tensors["generator.encoder.project.bias"] + 0.01  # retrained
    save_file(tensors, str(checkpoint / WEIGHTS))
    with pytest.raises(GraphMismatch) as refused:
        GraphEmbedder(checkpoint)
    line = str(refused.value)
    assert "\n" not in line and f"snapmode export --model {checkpoint}" in line and "not from cbir-gan:" in line
    graph_path(checkpoint).unlink()
    with pytest.raises(GraphMismatch, match="no exported graph"):
        GraphEmbedder(checkpoint)


def test_auto_runs_the_graph_on_the_cpu_and_torch_for_a_checkpoint_without_one(tmp_path):
    auto = build_cbir_gan(None, device="cpu")
    assert isinstance(auto, GraphEmbedder) and auto.runtime == "onnxruntime"
    bare = tmp_path / "bare"
    shutil.copytree(DEFAULT_CHECKPOINT, bare, ignore=shutil.ignore_patterns("*.onnx", "*.png"))
    with structlog.testing.capture_logs() as logs:
        embedder = build_cbir_gan(bare, device="cpu")
    assert isinstance(embedder, CbirGanEmbedder)
    assert any(entry["event"] == "embedder.no_graph" for entry in logs)
    assert isinstance(build_cbir_gan(None, runtime="torch", device="cpu"), CbirGanEmbedder)


def test_export_and_bench_embed_from_the_command_line(tmp_path, cli_env):
    checkpoint = tmp_path / "ck"
    shutil.copytree(DEFAULT_CHECKPOINT, checkpoint, ignore=shutil.ignore_patterns("*.onnx", "*.png"))
    cli_env(DATA_DIR=tmp_path / "data")
    result = runner.invoke(app, ["export", "--model", str(checkpoint), "--fp32", "--json", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert '"precision": "float32"' in result.stdout and (checkpoint / "encoder.onnx").is_file()

    result = runner.invoke(app, ["bench", "embed", "--embedders", "default,backbone,torch", "--devices", "cpu",
                                 "--batch-sizes", "1,4", "--seconds", "0.1", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout[result.stdout.index("["):])
    assert [(r["embedder"], r["batch_size"]) for r in rows] == [
        ("default", 1), ("default", 4), ("backbone", 1), ("backbone", 4), ("torch", 1), ("torch", 4)]
    assert all(r["images_per_s"] > 0 for r in rows)
    result = runner.invoke(app, ["bench", "embed", "--embedders", "default,fastest"])
    assert result.exit_code == 2 and "unknown fastest" in result.output


def test_a_stale_graph_ends_a_command_with_one_line(tmp_path, cli_env, capsys):
    from snapmode.cli.main import run

    checkpoint = tmp_path / "ck"
    shutil.copytree(DEFAULT_CHECKPOINT, checkpoint, ignore=shutil.ignore_patterns("*.png"))
    graph = onnx.load(str(checkpoint / INT8_GRAPH))
    onnx.helper.set_model_props(graph, {**read_graph_props(checkpoint / INT8_GRAPH), "snapmode.dim": "1280"})
    onnx.save(graph, str(checkpoint / INT8_GRAPH))
    cli_env(DATA_DIR=tmp_path / "data", MODEL_CHECKPOINT=checkpoint)
    product_photo(1, 0, 64).save(tmp_path / "q.jpg")
    from snapmode.config import get_settings
    from snapmode.platform import check_embedder

    with pytest.raises(GraphMismatch, match="256-d"):
        check_embedder(get_settings())  # what `snapmode serve` asks before it starts
    argv = sys.argv
    sys.argv = ["snapmode", "search", str(tmp_path / "q.jpg")]
    try:
        with pytest.raises(SystemExit) as ended:
            run()
    finally:
        sys.argv = argv
    assert ended.value.code == 2
    said = capsys.readouterr().err
    assert said.startswith("error: ") and said.count("\n") == 1 and "snapmode export --model" in said, said
