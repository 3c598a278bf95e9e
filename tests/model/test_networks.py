"""Output shapes of the generator, discriminator and losses."""

import torch

from snapmode.model.backbone import BackboneFeatures
from snapmode.model.config import triplet_baseline
from snapmode.model.losses import discriminator_loss, generator_adversarial_loss, perceptual_loss, pixel_loss
from snapmode.model.networks import Discriminator, Generator


def test_generator_shapes(tiny_config, device):
    generator = Generator(tiny_config).to(device)
    x = torch.rand(4, 3, 32, 32, device=device) * 2 - 1
    z, recon = generator(x)
    assert z.shape == (4, 16)
    assert torch.allclose(z.norm(dim=1), torch.ones(4, device=device), atol=1e-5)
    assert recon.shape == x.shape and recon.min() >= -1 and recon.max() <= 1


def test_default_generator_is_128px_256d():
    from snapmode.model.config import CbirGanConfig

    generator = Generator(CbirGanConfig(pretrained_encoder=False)).eval()
    z, recon = generator(torch.zeros(2, 3, 128, 128))
    assert z.shape == (2, 256) and recon.shape == (2, 3, 128, 128)


def test_triplet_baseline_has_no_decoder(tiny_config):
    z, recon = Generator(triplet_baseline(tiny_config))(torch.zeros(2, 3, 32, 32))
    assert z.shape == (2, 16) and recon is None


def test_discriminator_gives_one_logit_per_image(device):
    discriminator = Discriminator(image_size=32, width=8).to(device)
    assert discriminator(torch.zeros(5, 3, 32, 32, device=device)).shape == (5,)


def test_losses_are_scalars_and_zero_on_identical_images():
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    features = BackboneFeatures(taps=(1, 2)).eval()
    with torch.no_grad():
        maps = features(x)[:-1]
    assert perceptual_loss(maps, maps).item() == 0.0
    assert pixel_loss(x, x).item() == 0.0
    real, fake = torch.tensor([2.0, 3.0]), torch.tensor([-2.0, -4.0])
    assert discriminator_loss(real, fake, "hinge").item() == 0.0  # both beyond the hinge margin
    assert generator_adversarial_loss(fake, "hinge").item() == 3.0
    assert discriminator_loss(real, fake, "nonsaturating").item() < discriminator_loss(fake, real, "nonsaturating").item()
