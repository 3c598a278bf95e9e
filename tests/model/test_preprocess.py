"""Training and inference see identical inputs: both go through `to_tensor`."""

import numpy as np
import torch

from snapmode.model.augment import blur_resolution, occlude, reframe, relight
from snapmode.model.batches import ImageBank, open_rgb
from snapmode.model.checkpoint import save_checkpoint
from snapmode.model.data import read_folder
from snapmode.model.embedder import CbirGanEmbedder
from snapmode.model.preprocess import to_tensor
from snapmode.model.trainer import Trainer


def test_training_bank_holds_exactly_the_inference_tensors(photo_folder):
    products = read_folder(photo_folder)
    bank = ImageBank(products, 32)
    paths = [p for product in products for p in product.images]
    expected = to_tensor([open_rgb(p) for p in paths], 32)
    assert torch.equal(bank.images, expected)
    assert bank.images.min() >= -1 and bank.images.max() <= 1


def test_embedder_embeds_what_training_validates_on(tiny_config, photo_folder, tmp_path):
    trainer = Trainer(tiny_config, torch.device("cpu"))
    save_checkpoint(tmp_path / "ck", config=tiny_config, modules=trainer.modules(), metrics={})
    products = read_folder(photo_folder)
    bank = ImageBank(products, tiny_config.image_size)
    from_training = trainer.embed(bank.images)
    images = [open_rgb(p) for product in products for p in product.images]
    from_inference = CbirGanEmbedder(tmp_path / "ck", device="cpu", batch_size=5).embed(images)
    np.testing.assert_allclose(from_training, from_inference, atol=1e-6)  # batching changes only rounding


def test_reframing_and_relighting_keep_shape_and_range_and_are_seeded():
    batch = torch.rand(3, 3, 32, 32) * 2 - 1

    def augment(generator: torch.Generator) -> torch.Tensor:
        return relight(reframe(batch, generator), generator)

    one = augment(torch.Generator().manual_seed(1))
    two = augment(torch.Generator().manual_seed(1))
    assert one.shape == batch.shape and one.min() >= -1 and one.max() <= 1
    assert torch.equal(one, two) and not torch.equal(one, batch)


def test_occlude_paints_one_flat_patch_on_the_chosen_share_of_images():
    batch = torch.zeros(64, 3, 32, 32)
    out = occlude(batch, torch.Generator().manual_seed(3), probability=0.5)
    changed = (out != batch).any(dim=1)  # (n, h, w)
    covered = changed.flatten(1).float().mean(1)
    hit = covered > 0
    assert 16 <= int(hit.sum()) <= 48, "about half the images get an occluder"
    assert covered[hit].min() >= 0.005 and covered[hit].max() <= 0.12
    for i in torch.nonzero(hit).flatten():
        colours = out[i][:, changed[i]].T.unique(dim=0)
        assert len(colours) == 1, "an occluder is one flat colour"
    assert torch.equal(occlude(batch, probability=0.0), batch)


def test_blur_resolution_loses_the_fine_detail_of_the_chosen_share_only():
    checkers = (torch.arange(64).view(1, 64) + torch.arange(64).view(64, 1)) % 2 * 2.0 - 1  # 1-pixel detail
    batch = checkers.expand(64, 3, 64, 64).clone()
    out = blur_resolution(batch, torch.Generator().manual_seed(5), probability=0.5, smallest=8)
    assert out.shape == batch.shape and out.min() >= -1 and out.max() <= 1
    blurred = (out - batch).abs().flatten(1).mean(1) > 0.5  # a checkerboard shrunk and enlarged turns grey
    untouched = (out == batch).flatten(1).all(1)
    assert torch.equal(blurred, ~untouched), "each image is either left alone or loses its detail"
    assert 16 <= int(blurred.sum()) <= 48, "about half the images are seen as thumbnails"
    assert torch.equal(blur_resolution(batch, probability=0.0), batch)
