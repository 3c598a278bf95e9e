"""Training: the loss falls on a tiny set; a run writes a checkpoint that resumes and round-trips."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from snapmode.model.batches import ImageBank, open_rgb, pk_batches
from snapmode.model.checkpoint import RESUME, WEIGHTS, load_generator, save_checkpoint
from snapmode.model.data import read_folder
from snapmode.model.embedder import CbirGanEmbedder
from snapmode.model.preprocess import to_tensor
from snapmode.model.train import fit
from snapmode.model.trainer import Trainer


def test_total_loss_falls_over_a_few_steps(tiny_config, photo_folder, device):
    bank = ImageBank(read_folder(photo_folder), tiny_config.image_size)
    images, labels = next(pk_batches(bank, products_per_batch=6, views_per_product=2, rng=np.random.default_rng(0)))
    trainer = Trainer(tiny_config, device)
    history = [trainer.train_step(images, labels) for _ in range(12)]
    assert {"loss_total", "loss_triplet", "loss_pixel", "loss_perceptual", "loss_adversarial", "loss_d"} <= set(history[0])
    first, last = np.mean([h["loss_total"] for h in history[:2]]), np.mean([h["loss_total"] for h in history[-2:]])
    assert last < 0.8 * first, f"total loss went from {first:.3f} to {last:.3f}"


def test_train_step_refuses_the_wrong_image_size(tiny_config, device):
    with pytest.raises(AssertionError, match="expected"):
        Trainer(tiny_config, device).train_step(torch.zeros(4, 3, 64, 64), torch.tensor([0, 0, 1, 1]))


def test_checkpoint_round_trip_gives_identical_embeddings(tiny_config, photo_folder, tmp_path, device):
    trainer = Trainer(tiny_config, device)
    bank = ImageBank(read_folder(photo_folder), tiny_config.image_size)
    trainer.train_epoch(bank)
    save_checkpoint(tmp_path / "ck", config=tiny_config, modules=trainer.modules(), metrics={"note": "test"})
    images = [open_rgb(p) for p in sorted(photo_folder.glob("*/*.jpg"))]
    loaded = CbirGanEmbedder(tmp_path / "ck", device="cpu").embed(images)
    again = CbirGanEmbedder(tmp_path / "ck", device="cpu").embed(images)
    assert loaded.shape == (18, 16) and loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, again)
    trainer.generator.cpu()
    with torch.inference_mode():
        in_memory = trainer.generator.eval().encoder(to_tensor(images, tiny_config.image_size)).numpy()
    np.testing.assert_array_equal(loaded, in_memory)
    generator, config = load_generator(tmp_path / "ck")
    assert config == tiny_config and generator.decoder is not None


def test_half_weights_halve_the_file_and_keep_the_embeddings_close(tiny_config, tmp_path):
    trainer = Trainer(tiny_config, torch.device("cpu"))
    save_checkpoint(tmp_path / "full", config=tiny_config, modules=trainer.modules(), metrics={})
    save_checkpoint(tmp_path / "half", config=tiny_config, modules=trainer.modules(), metrics={}, half=True)
    assert (tmp_path / "half" / WEIGHTS).stat().st_size < 0.6 * (tmp_path / "full" / WEIGHTS).stat().st_size
    images = [Image.new("RGB", (40, 40), (200, 30, 90)), Image.new("RGB", (40, 30), (20, 130, 90))]
    full = CbirGanEmbedder(tmp_path / "full", device="cpu").embed(images)
    half = CbirGanEmbedder(tmp_path / "half", device="cpu").embed(images)
    np.testing.assert_allclose(full, half, atol=2e-2)


def test_fit_writes_a_checkpoint_and_resumes(tiny_config, photo_folder, tmp_path):
    products = read_folder(photo_folder)
    config = tiny_config.with_overrides(val_fraction=0.34, epochs=1)
    out = tmp_path / "run"
    metrics = fit(products, out, config, torch.device("cpu"), show_progress=False)
    assert metrics["epoch"] == 1 and set(metrics["val"]) == {"p@1", "p@10", "map@10", "r@1", "r@10"}
    for name in (WEIGHTS, "config.json", "metrics.json", RESUME, "losses.png", "reconstructions.png"):
        assert (out / name).is_file(), name
    steps_after_one = json.loads((out / "metrics.json").read_text())["step"]
    resumed = fit(products, out, config.with_overrides(epochs=2), torch.device("cpu"), resume=True,
                  show_progress=False)
    assert resumed["epoch"] == 2 and resumed["step"] == 2 * steps_after_one


def test_resume_without_a_checkpoint_is_refused(tiny_config, photo_folder, tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        fit(read_folder(photo_folder), tmp_path / "empty", tiny_config, torch.device("cpu"), resume=True,
            show_progress=False)
