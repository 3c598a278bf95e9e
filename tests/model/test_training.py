"""Training: the loss falls on a tiny set; a run writes a checkpoint that resumes and round-trips."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from snapmode.model.batches import ImageBank, open_rgb, pk_batches
from snapmode.model.checkpoint import RESUME, WEIGHTS, load_generator, save_checkpoint
from snapmode.model.config import triplet_baseline
from snapmode.model.data import read_folder
from snapmode.model.embedder import CbirGanEmbedder
from snapmode.model.preprocess import to_tensor
from snapmode.model.train import fit
from snapmode.model.trainer import Trainer, other_views


def test_total_loss_falls_over_a_few_steps(tiny_config, photo_folder, device):
    bank = ImageBank(read_folder(photo_folder), tiny_config.image_size)
    images, labels = next(pk_batches(bank, products_per_batch=6, views_per_product=2, rng=np.random.default_rng(0)))
    trainer = Trainer(tiny_config, device)
    history = [trainer.train_step(images, labels) for _ in range(12)]
    assert {"loss_total", "loss_triplet", "loss_pixel", "loss_perceptual", "loss_adversarial", "loss_d"} <= set(history[0])
    first, last = np.mean([h["loss_total"] for h in history[:2]]), np.mean([h["loss_total"] for h in history[-2:]])
    assert last < 0.8 * first, f"total loss went from {first:.3f} to {last:.3f}"


def test_denoising_generator_reconstructs_the_photo_before_relighting_and_occlusion(tiny_config, device):
    images = torch.rand(8, 3, 32, 32) * 2 - 1
    denoising = Trainer(tiny_config.with_overrides(occlusion=1.0), device)
    seen, target = denoising.corrupt(images.to(device))
    assert target is not None and target.shape == seen.shape
    occluded = (seen != target).any(dim=1).flatten(1).any(1)
    assert bool(occluded.all()), "every input differs from its target"
    plain = Trainer(tiny_config.with_overrides(denoise=False), device)
    assert plain.corrupt(images.to(device))[1] is None
    triplet = Trainer(triplet_baseline(tiny_config), device)
    assert triplet.corrupt(images.to(device))[1] is None, "no decoder, nothing to reconstruct"


def test_low_resolution_photos_are_seen_blurred_and_reconstructed_sharp(tiny_config, device):
    images = torch.rand(8, 3, 32, 32) * 2 - 1
    sharp = Trainer(tiny_config.with_overrides(occlusion=0.0), device).corrupt(images.to(device))
    thumbnails = Trainer(tiny_config.with_overrides(occlusion=0.0, low_resolution=1.0), device)
    seen, target = thumbnails.corrupt(images.to(device))
    assert torch.equal(target, sharp[1]), "the target is the same reframed photo"
    assert bool((seen != sharp[0]).flatten(1).any(1).all()), "every input is seen at a lower resolution"
    assert seen.diff(dim=-1).abs().mean() < sharp[0].diff(dim=-1).abs().mean(), "and has lost detail"


def test_train_step_scores_reconstructions_against_the_targets(tiny_config, device):
    images, labels = torch.rand(8, 3, 32, 32) * 2 - 1, torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    one, two = Trainer(tiny_config, device), Trainer(tiny_config, device)
    against_inputs = one.train_step(images, labels)
    against_targets = two.train_step(images, labels, targets=-images)
    assert against_inputs["loss_triplet"] == pytest.approx(against_targets["loss_triplet"])
    assert against_inputs["loss_pixel"] != pytest.approx(against_targets["loss_pixel"])


def test_other_views_pairs_each_photo_with_another_of_its_product():
    labels = torch.tensor([4, 4, 9, 9, 9, 2])
    partner = other_views(labels)
    assert torch.equal(labels[partner], labels)
    assert bool((partner[:5] != torch.arange(5)).all()), "a product with several photos never pairs one with itself"
    assert int(partner[5]) == 5, "a lone photo is its own partner"
    assert sorted(partner.tolist()) == list(range(6)), "every photo is some photo's target once"


def test_cross_view_generator_reconstructs_the_other_photo_of_the_product(tiny_config, device):
    images, labels = torch.rand(8, 3, 32, 32) * 2 - 1, torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    swapped = images[[1, 0, 3, 2, 5, 4, 7, 6]]
    self_view = tiny_config.with_overrides(cross_view=False)
    cross = Trainer(tiny_config.with_overrides(cross_view=True), device).train_step(images, labels, targets=swapped)
    same = Trainer(self_view, device).train_step(images, labels, targets=images)
    other = Trainer(self_view, device).train_step(images, labels, targets=swapped)
    assert cross["loss_pixel"] == pytest.approx(same["loss_pixel"], rel=1e-5)
    assert cross["loss_pixel"] != pytest.approx(other["loss_pixel"], rel=1e-3)


def test_the_triplet_baseline_trains_the_same_whatever_the_gan_settings(tiny_config, device):
    images, labels = torch.rand(8, 3, 32, 32) * 2 - 1, torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    gan_settings = tiny_config.with_overrides(cross_view=True, w_pixel=3.0, w_perceptual=2.0, w_adversarial=0.5)
    plain = Trainer(triplet_baseline(tiny_config), device)
    other = Trainer(triplet_baseline(gan_settings), device)
    assert plain.train_step(images, labels) == other.train_step(images, labels)
    np.testing.assert_array_equal(plain.embed(images), other.embed(images))


def test_a_fine_tune_starts_from_the_checkpoint_weights(tiny_config, photo_folder, tmp_path):
    trained = Trainer(tiny_config, torch.device("cpu"))
    trained.train_epoch(ImageBank(read_folder(photo_folder), tiny_config.image_size))
    save_checkpoint(tmp_path / "ck", config=tiny_config, modules=trained.modules(), metrics={})
    fresh = Trainer(tiny_config.with_overrides(seed=1), torch.device("cpu"))
    images = to_tensor([open_rgb(p) for p in sorted(photo_folder.glob("*/*.jpg"))], tiny_config.image_size)
    assert not np.allclose(fresh.embed(images), trained.embed(images))
    fresh.load_weights(tmp_path / "ck")
    np.testing.assert_array_equal(fresh.embed(images), trained.embed(images))
    for name, module in trained.modules().items():
        for key, value in module.state_dict().items():
            assert torch.equal(fresh.modules()[name].state_dict()[key], value), f"{name}.{key}"


def test_a_fine_tune_refuses_a_checkpoint_of_other_networks(tiny_config, photo_folder, tmp_path):
    save_checkpoint(tmp_path / "triplet", config=triplet_baseline(tiny_config),
                    modules=Trainer(triplet_baseline(tiny_config), torch.device("cpu")).modules(), metrics={})
    with pytest.raises(ValueError, match="networks differ"):
        fit(read_folder(photo_folder), tmp_path / "run", tiny_config, torch.device("cpu"), init=tmp_path / "triplet",
            show_progress=False)
    assert not (tmp_path / "run").exists(), "refused before any training"


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


def test_a_product_with_one_photo_trains_on_augmented_copies_of_it(tiny_config, photo_folder, device):
    from snapmode.model.data import Product

    products = [Product("one", (photo_folder / "P00" / "0.jpg",)), *read_folder(photo_folder)[1:4]]
    bank = ImageBank(products, tiny_config.image_size)
    batches = list(pk_batches(bank, products_per_batch=4, views_per_product=2, rng=np.random.default_rng(0)))
    images, labels = batches[0]
    lone = (labels == 0).nonzero().flatten()
    assert len(lone) == 2 and torch.equal(images[lone[0]], images[lone[1]]), "the lone photo fills both views"
    seen, _ = Trainer(tiny_config, device).corrupt(images.to(device))
    assert (seen[lone[0]] - seen[lone[1]]).abs().mean() > 0.01, "augmentation makes the two copies differ"
    metrics = Trainer(tiny_config, device).train_step(images, labels)
    assert np.isfinite(metrics["loss_triplet"])


def test_distillation_adds_its_loss_and_keeps_the_triplet_baseline_deterministic(tiny_config, device):
    images, labels = torch.rand(8, 3, 32, 32) * 2 - 1, torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    distilled = tiny_config.with_overrides(w_distill=5.0, distill_size=64)
    metrics = Trainer(distilled, device).train_step(images, labels)
    assert metrics["loss_distill"] > 0
    assert "loss_distill" not in Trainer(tiny_config, device).train_step(images, labels)
    plain = Trainer(triplet_baseline(distilled), device)
    other = Trainer(triplet_baseline(distilled.with_overrides(w_pixel=3.0, w_adversarial=0.5)), device)
    assert plain.train_step(images, labels) == other.train_step(images, labels)
    np.testing.assert_array_equal(plain.embed(images), other.embed(images))


def test_a_checkpoint_saved_before_distillation_and_freezing_existed_still_loads(tiny_config, tmp_path):
    trainer = Trainer(tiny_config, torch.device("cpu"))
    save_checkpoint(tmp_path, config=tiny_config, modules=trainer.modules(), metrics={})
    config = json.loads((tmp_path / "config.json").read_text())
    for key in ("w_distill", "distill_size", "frozen_blocks"):
        del config[key]
    (tmp_path / "config.json").write_text(json.dumps(config))
    generator, loaded = load_generator(tmp_path)
    assert loaded.w_distill == 0 and loaded.frozen_blocks == 0


def test_a_frozen_trunk_at_the_teachers_size_shares_its_blocks_with_the_teacher(tiny_config):
    images = torch.rand(8, 3, 32, 32) * 2 - 1
    config = tiny_config.with_overrides(w_distill=5.0, frozen_blocks=16, encoder_size=64, distill_size=64,
                                        pretrained_encoder=True)
    shared = Trainer(config, torch.device("cpu"))
    assert shared.generator.encoder.trunk.net._blocks[-1]._forward_hooks, "the teacher reuses the student's blocks"
    with torch.no_grad():
        shared.generator.eval()
        shared.generator(images)
        reused = shared.teach(images)
    assert not shared.shared_blocks, "each forward's blocks are used once"
    recomputed = shared.teach(images)  # no stored blocks: the teacher runs its own trunk
    assert torch.allclose(reused, recomputed, atol=1e-5)
    unshared = Trainer(config.with_overrides(frozen_blocks=15), torch.device("cpu"))
    assert not unshared.generator.encoder.trunk.net._blocks[-1]._forward_hooks


def test_the_embedder_feeds_the_encoder_at_its_own_size(tiny_config, tmp_path):
    config = tiny_config.with_overrides(encoder_size=64)
    trainer = Trainer(config, torch.device("cpu"))
    save_checkpoint(tmp_path, config=config, modules=trainer.modules(), metrics={})
    embedder = CbirGanEmbedder(tmp_path, device="cpu")
    seen = []
    embedder.encoder.trunk.net._conv_stem.register_forward_hook(lambda module, args, out: seen.append(args[0].shape))
    photo = Image.new("RGB", (100, 80), (200, 30, 30))
    vector = embedder.embed([photo])
    assert seen == [(1, 3, 64, 64)], "preprocessed at encoder_size, not resized from image_size"
    with torch.no_grad():
        expected = embedder.encoder(to_tensor([photo], 64))
    np.testing.assert_allclose(vector, expected.numpy(), atol=1e-6)


def test_an_encoder_size_trains_on_photos_at_that_size_and_renders_at_the_image_size(tiny_config, device):
    config = tiny_config.with_overrides(encoder_size=64)
    trainer = Trainer(config, device)
    images, labels = torch.rand(8, 3, 64, 64) * 2 - 1, torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    seen = []
    trainer.discriminator.register_forward_hook(lambda module, args, out: seen.append(args[0].shape[-1]))
    metrics = trainer.train_step(images, labels)
    assert metrics["loss_pixel"] > 0 and set(seen) == {32}, "the decoder's photos are compared at image_size"
    with pytest.raises(AssertionError, match="expected"):
        trainer.train_step(torch.rand(8, 3, 32, 32), labels)
