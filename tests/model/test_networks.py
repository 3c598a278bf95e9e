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


def test_relational_distillation_is_zero_when_the_student_keeps_the_teachers_distances():
    from snapmode.model.losses import relational_distillation_loss

    torch.manual_seed(0)
    teacher = torch.rand(8, 32)
    rotation, _ = torch.linalg.qr(torch.randn(32, 32))
    same = relational_distillation_loss(3.0 * teacher @ rotation, teacher)  # rotated and scaled: the same arrangement
    assert same.item() < 1e-6
    slightly = relational_distillation_loss(teacher + 0.05 * torch.randn(8, 32), teacher)
    unrelated = relational_distillation_loss(torch.randn(8, 16), teacher)
    assert 0 < slightly.item() < unrelated.item(), "the loss grows as the student's distances depart from the teacher's"


def test_relational_distillation_pulls_the_student_towards_the_teachers_distances():
    from snapmode.model.losses import relational_distillation_loss

    torch.manual_seed(0)
    teacher, student = torch.rand(8, 32), torch.randn(8, 16, requires_grad=True)
    before = relational_distillation_loss(student, teacher).item()
    optimiser = torch.optim.Adam([student], lr=0.05)
    for _ in range(100):
        optimiser.zero_grad()
        relational_distillation_loss(student, teacher).backward()
        optimiser.step()
    assert relational_distillation_loss(student, teacher).item() < 0.01 * before


def test_frozen_blocks_get_no_gradient_and_keep_their_batch_norm_statistics(tiny_config):
    generator = Generator(tiny_config.with_overrides(frozen_blocks=3)).train()
    net = generator.encoder.trunk.net
    stats = net._blocks[2]._bn1.running_mean.clone()
    z, recon = generator(torch.rand(4, 3, 32, 32) * 2 - 1)
    (z.sum() + recon.mean()).backward()
    frozen = [net._conv_stem, net._bn0, *net._blocks[:3]]
    assert all(p.grad is None for m in frozen for p in m.parameters())
    assert all(p.grad is not None for p in net._blocks[3].parameters())
    assert torch.equal(net._blocks[2]._bn1.running_mean, stats), "frozen batch norms stay in eval mode"
    assert not net._blocks[2].training and net._blocks[3].training


def test_frozen_blocks_do_not_change_the_weights_a_checkpoint_holds(tiny_config):
    plain, frozen = Generator(tiny_config), Generator(tiny_config.with_overrides(frozen_blocks=5))
    assert plain.state_dict().keys() == frozen.state_dict().keys()


def test_an_encoder_size_resizes_the_input_before_the_trunk(tiny_config):
    import torch.nn.functional as F

    torch.manual_seed(0)
    resizing = Generator(tiny_config.with_overrides(encoder_size=64)).eval()
    plain = Generator(tiny_config).eval()
    plain.load_state_dict(resizing.state_dict())  # the same weights: the size is not part of the architecture
    seen = []
    resizing.encoder.trunk.net._conv_stem.register_forward_hook(lambda module, args, out: seen.append(args[0].shape))
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    z, recon = resizing(x)
    assert seen == [(2, 3, 64, 64)], "the trunk sees the resized input"
    assert z.shape == (2, 16) and recon.shape == x.shape, "the decoder still renders image_size pixels"
    upsampled = F.interpolate(x, size=(64, 64), mode="bilinear", align_corners=False)
    assert torch.allclose(z, plain(upsampled)[0], atol=1e-6)


def test_an_identity_projection_starts_z_at_the_pretrained_descriptor(tiny_config):
    import pytest
    import torch.nn.functional as F

    from snapmode.model.backbone import gem

    with pytest.raises(ValueError, match="z_dim 1280"):
        tiny_config.with_overrides(identity_projection=True)
    config = tiny_config.with_overrides(z_dim=1280, identity_projection=True)
    encoder = Generator(config).encoder.eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        descriptor = F.normalize(gem(encoder.trunk(x)[-1]), dim=1)
        assert torch.allclose(encoder(x), descriptor, atol=1e-6)


def test_backbone_features_without_head_stop_after_the_last_tap():
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name("efficientnet-lite0").eval()
    taps_only = BackboneFeatures(net=net, taps=(1, 2), head=False)
    full = BackboneFeatures(net=net, taps=(1, 2))
    ran = []
    net._blocks[3].register_forward_hook(lambda module, args, out: ran.append(3))
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        short, long = taps_only(x), full(x)
    assert ran == [3], "only the full extractor runs the blocks after the last tap"
    assert len(short) == 2 and len(long) == 3
    assert all(torch.equal(a, b) for a, b in zip(short, long[:2]))


def test_frozen_statistics_keep_every_encoder_batch_norm_as_it_was(tiny_config):
    generator = Generator(tiny_config.with_overrides(frozen_statistics=True)).train()
    net = generator.encoder.trunk.net
    head_stats, block_stats = net._bn1.running_mean.clone(), net._blocks[5]._bn1.running_mean.clone()
    z, _ = generator(torch.rand(4, 3, 32, 32) * 2 - 1)
    z.sum().backward()
    assert torch.equal(net._bn1.running_mean, head_stats) and torch.equal(net._blocks[5]._bn1.running_mean, block_stats)
    assert net._bn1.weight.grad is not None, "their scale and shift still learn"
    assert generator.decoder.training, "the decoder's batch norms are not the encoder's"
