"""`snapmode train`, `snapmode eval` and `snapmode bench embed` end to end on a tiny folder of photos."""

import json

from typer.testing import CliRunner

from snapmode.cli.main import app

runner = CliRunner()


def flat(output: str) -> str:
    """A message as one line, without the box and the wrapping of typer's error panel."""
    return " ".join(output.replace("│", " ").split())


def test_train_eval_and_bench(tiny_config, photo_folder, tmp_path):
    config = tmp_path / "tiny.json"
    config.write_text(tiny_config.with_overrides(val_fraction=0.34).to_json())
    out, triplet = tmp_path / "gan", tmp_path / "triplet"
    for target, extra in ((out, []), (triplet, ["--triplet-only"])):
        result = runner.invoke(app, ["train", "--data", str(photo_folder), "--out", str(target), "--config", str(config),
                                     "--epochs", "1", "--device", "cpu", "--no-progress", *extra])
        assert result.exit_code == 0, result.output
        assert (target / "model.safetensors").is_file()
    tuned = tmp_path / "tuned"
    result = runner.invoke(app, ["train", "--data", str(photo_folder), "--out", str(tuned), "--config", str(config),
                                 "--init", str(out), "--lr", "1e-4", "--epochs", "1", "--device", "cpu",
                                 "--no-progress"])
    assert result.exit_code == 0, result.output
    assert json.loads((tuned / "config.json").read_text())["lr"] == 1e-4
    again = tmp_path / "again"  # no --config: the fine-tune keeps the recipe of the checkpoint it starts from
    result = runner.invoke(app, ["train", "--data", str(photo_folder), "--out", str(again), "--init", str(tuned),
                                 "--device", "cpu", "--no-progress"])
    assert result.exit_code == 0, result.output
    kept = json.loads((again / "config.json").read_text())
    assert (kept["image_size"], kept["z_dim"], kept["lr"]) == (32, 16, 1e-4)

    result = runner.invoke(app, ["eval", "--model", str(out), "--data", str(photo_folder), "--baselines",
                                 "--triplet-model", str(triplet), "--device", "cpu", "--json", "--no-progress",
                                 "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout[result.stdout.index("{"):])
    assert set(scores) == {"cbir-gan", "efficientnet-lite0", "triplet", "colour-histogram"}
    for metrics in scores.values():
        assert set(metrics) == {"p@1", "p@10", "map@10", "r@1", "r@10"}
        assert all(0.0 <= v <= 1.0 for v in metrics.values())
    for name in ("metrics.md", "metrics.json", "precision_recall.png", "queries.png"):
        assert (tmp_path / "report" / name).is_file()
    table = (tmp_path / "report" / "metrics.md").read_text()
    assert "Top-1 disagreements with cbir-gan" in table
    assert all(f"- {name}: cbir-gan alone right on" in table for name in scores if name != "cbir-gan")

    result = runner.invoke(app, ["eval", "--model", str(out), "--data", str(photo_folder), "--protocol", "all-views",
                                 "--device", "cpu", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("18 queries, 18 gallery images")  # six products of three photos

    result = runner.invoke(app, ["bench", "embed", "--model", str(out), "--embedders", "default", "--devices", "cpu",
                                 "--batch-sizes", "1,8", "--seconds", "0.1", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout[result.stdout.index("["):])
    assert [(r["embedder"], r["device"], r["batch_size"]) for r in rows] == [("default", "cpu", 1),
                                                                             ("default", "cpu", 8)]
    assert all(r["images_per_s"] > 0 and r["peak_memory_mb"] > 0 and r["cpu_ms_per_image"] > 0 for r in rows)


def test_eval_of_a_missing_path_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["eval", "--data", str(tmp_path / "nowhere"), "--device", "cpu"])
    assert result.exit_code != 0
    assert "nowhere" in result.output


def test_train_refuses_a_bad_image_size(photo_folder, tmp_path):
    result = runner.invoke(app, ["train", "--data", str(photo_folder), "--out", str(tmp_path / "x"), "--image-size", "100"])
    assert result.exit_code != 0
    assert "power of two" in result.output


def test_train_from_a_missing_checkpoint_is_a_clear_error(photo_folder, tmp_path):
    result = runner.invoke(app, ["train", "--data", str(photo_folder), "--out", str(tmp_path / "run"),
                                 "--init", str(tmp_path / "nowhere"), "--device", "cpu", "--no-progress"])
    assert result.exit_code != 0
    assert "config.json" in result.output  # "no config.json; not a CBIR-GAN checkpoint folder"
    result = runner.invoke(app, ["train", "--data", str(photo_folder), "--out", str(tmp_path / "run"),
                                 "--init", str(tmp_path / "nowhere"), "--resume", "--device", "cpu"])
    assert result.exit_code != 0
    assert "choose" in result.output


def test_eval_of_an_unknown_protocol_is_a_clear_error(photo_folder):
    result = runner.invoke(app, ["eval", "--data", str(photo_folder), "--protocol", "random", "--device", "cpu"])
    assert result.exit_code != 0 and "held-out or all-views" in result.output


def test_eval_of_a_retrieval_set_prints_the_table_of_every_method(tmp_path):
    from tests.model.test_retrieval_set import retrieval_folder

    root = retrieval_folder(tmp_path / "set", products=4, queries=2)
    (root / "queries" / "P0" / "broken.jpg").write_bytes(b"not an image")
    result = runner.invoke(app, ["eval", "--data", str(root), "--baselines", "--device", "cpu", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("8 queries, 4 gallery images\n")
    lines = result.stdout.splitlines()
    assert "| method | p@1 | p@10 | map@10 | r@1 | r@10 |" in lines
    rows = {line.split(" | ")[0].strip("| "): line for line in lines if line.startswith("| ") and "---" not in line}
    assert set(rows) == {"method", "cbir-gan", "efficientnet-lite0", "triplet", "colour-histogram"}
    for name in ("efficientnet-lite0", "triplet", "colour-histogram"):
        assert f"- {name}: cbir-gan alone right on" in result.stdout
    assert "skipped 1 unreadable image(s)" in result.stderr and "broken.jpg" in result.stderr


def test_eval_of_a_retrieval_set_without_queries_is_a_one_line_error(tmp_path):
    from tests.model.test_retrieval_set import retrieval_folder

    root = retrieval_folder(tmp_path / "set", queries=0)
    (root / "queries").mkdir()
    result = runner.invoke(app, ["eval", "--data", str(root), "--device", "cpu", "--no-progress"])
    assert result.exit_code == 2
    assert "no readable query images" in flat(result.output)
    assert "Traceback" not in result.output


def test_eval_of_a_tsv_naming_a_product_missing_from_the_gallery_is_a_one_line_error(tmp_path):
    from tests.model.test_retrieval_set import retrieval_folder

    root = retrieval_folder(tmp_path / "set", products=1, queries=1)
    (root / "set.tsv").write_text("gallery/P0/clean.jpg\tP0\tgallery\nqueries/P0/q0.jpg\tP9\tquery\n")
    result = runner.invoke(app, ["eval", "--data", str(root / "set.tsv"), "--device", "cpu", "--no-progress"])
    assert result.exit_code == 2
    assert "no readable gallery image: P9" in flat(result.output)


def test_a_new_run_of_a_whitening_recipe_learns_it_from_the_cached_drawings(tiny_config, photo_folder, tmp_path,
                                                                             cli_env):
    from PIL import Image

    from snapmode.model.checkpoint import load_generator
    from tests.datasets.realsets.conftest import make_deb

    cache = tmp_path / "packages"
    drawings = {f"usr/share/openclipart/png/d{i}.png": Image.new("RGB", (40 + i, 30), (i * 25, 200 - i * 20, 90))
                for i in range(8)}
    make_deb(cache, "openclipart-png", drawings, version="1:0.18+dfsg-19")
    cli_env(PACKAGE_CACHE_DIR=cache)
    config = tmp_path / "whitening.json"
    config.write_text(tiny_config.with_overrides(z_dim=1280, identity_projection=True, pretrained_encoder=True,
                                                 whitening="openclipart", whitening_images=8, w_distill=1.0).to_json())
    out = tmp_path / "white"
    result = runner.invoke(app, ["train", "--data", str(photo_folder), "--out", str(out), "--config", str(config),
                                 "--device", "cpu", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "whitening learned from 8 drawings of openclipart-png 1:0.18+dfsg-19" in flat(result.output)
    generator, kept = load_generator(out)
    assert kept.whitening == "openclipart" and generator.encoder.unit_pooled
    assert (generator.encoder.project.bias.abs() > 0).any(), "the projection starts at a whitening, not the identity"
    result = runner.invoke(app, ["train", "--data", str(photo_folder), "--out", str(tmp_path / "tuned"), "--init",
                                 str(out), "--device", "cpu", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "whitening learned" not in result.output, "a fine-tune keeps the whitening it starts from"
