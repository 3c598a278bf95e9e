"""Train the CBIR-GAN: `train_step(images, labels) -> metrics`, epochs, validation, and the state to resume from.

How this maps to the CBIR-GAN paper (a triplet GAN for content-based image retrieval):
- Generator = encoder + decoder. The encoder (EfficientNet-Lite0, started from ImageNet weights, then a linear
  projection) maps a photo to the retrieval code z (L2-normalised; 1280-d in the shipped recipe); the decoder
  reconstructs the photo from z.
- The paper's three generator branches (anchor, positive, negative) share their weights: here they are one generator
  applied to the whole batch, and the triplets are chosen from its codes by in-batch mining (semi-hard by default).
  Positives are other photos of the same product (or augmented copies when a product has one photo), negatives are
  photos of other products: no class labels are needed.
- Discriminator (spectral norm) tells real photos from reconstructions; its adversarial loss, a perceptual loss on
  fixed EfficientNet-Lite0 feature maps and a pixel L1 loss make z keep what the photo shows (colour, pattern,
  details) while the triplet loss arranges z for retrieval. Each loss has its weight in `CbirGanConfig`.
- Our addition: the generator is a denoising one. Training photos are reframed, relit and, for a share of them,
  partly covered by an occluder; the generator sees that photo but reconstructs (and the discriminator and the
  perceptual loss judge against) the reframed photo before relighting and occlusion. z must then describe the
  product under the hand, tag or prop in front of it, which the triplet loss alone, near zero on the training
  products, stops asking for. The plain triplet baseline gets the same corrupted photos.
- Cross-view reconstruction (`cross_view`, on by default): the decoder reconstructs from z another photo of the same
  product in the batch (another framing, background and light), so the reconstruction losses ask z only for what the
  product's photos share, which is what retrieval needs, instead of the view (see `other_views`). With it, the
  reconstruction, perceptual and adversarial losses improve mAP@10 over the plain triplet network on every catalog
  measured; reconstructing the input itself does not.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from snapmode.model.augment import blur_resolution, occlude, reframe, relight
from snapmode.model.backbone import BackboneFeatures, gem
from snapmode.model.batches import ImageBank, pk_batches
from snapmode.model.checkpoint import load_state
from snapmode.model.config import CbirGanConfig
from snapmode.model.data import Product
from snapmode.model.losses import (discriminator_loss, generator_adversarial_loss, perceptual_loss, pixel_loss,
                                   relational_distillation_loss, triplet_loss)
from snapmode.model.metrics import rank, relevance, retrieval_metrics
from snapmode.model.networks import Discriminator, Generator
from snapmode.model.preprocess import to_tensor
from snapmode.model.whitening import fit_whitening, set_whitening


def seed_everything(seed: int) -> None:
    np.random.seed(seed)
    torch.manual_seed(seed)


def lr_schedule(total_steps: int | None) -> Callable[[int], float]:
    """Learning-rate factor per step: linear warm-up over 5% of the run, then a cosine decay to 0 at `total_steps`;
    constant after the warm-up when the length of the run is unknown (None)."""
    warmup = max(1, (total_steps or 0) // 20)

    def factor(step: int) -> float:
        warm = min(1.0, (step + 1) / warmup)
        if total_steps is None:
            return warm
        return warm * 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps))
    return factor


class Trainer:
    """Holds the networks, optimisers and history; one call of `train_step` is one discriminator + generator update."""

    def __init__(self, config: CbirGanConfig, device: torch.device, *, total_steps: int | None = None) -> None:
        seed_everything(config.seed)
        self.config, self.device = config, device
        self.amp = device.type == "cuda"  # bf16 autocast on CUDA
        self.generator = Generator(config).to(device)
        self.discriminator = (Discriminator(image_size=config.image_size, width=config.disc_width).to(device)
                              if config.uses_gan else None)
        self.features = None
        if config.reconstruct and config.w_perceptual > 0:
            self.features = (BackboneFeatures(taps=config.perceptual_taps, head=False)
                             .to(device).eval().requires_grad_(False))
        self.teacher = None  # the frozen ImageNet encoder whose feature distances z keeps (relational distillation)
        if config.w_distill > 0:
            self.teacher = BackboneFeatures(taps=()).to(device).eval().requires_grad_(False)
        self.teacher_projection: nn.Linear | None = None  # with a whitening: the projection z started from
        self.shared_blocks: list[torch.Tensor] = []  # the student's last-block output, when the teacher can reuse it
        if self.teacher is not None and config.frozen_blocks == 16 and config.encoder_size == config.distill_size:
            # a fully frozen trunk at the teacher's size computes the teacher's blocks: only its head is left to run
            last_block = self.generator.encoder.trunk.net._blocks[-1]
            last_block.register_forward_hook(self._keep_blocks)
        trunk = list(self.generator.encoder.trunk.parameters())
        trunk_ids = {id(p) for p in trunk}
        heads = [p for p in self.generator.parameters() if id(p) not in trunk_ids]
        self.opt_g = torch.optim.AdamW([{"params": trunk, "lr": config.lr * config.encoder_lr_scale},
                                        {"params": heads, "lr": config.lr}], weight_decay=config.weight_decay)
        self.sched_g = torch.optim.lr_scheduler.LambdaLR(self.opt_g, lr_schedule(total_steps))
        self.opt_d = (torch.optim.Adam(self.discriminator.parameters(), lr=config.lr_disc, betas=(0.0, 0.99))
                      if self.discriminator is not None else None)
        self.step, self.epoch = 0, 0
        self.history: list[dict] = []  # one row per logged step, and one per validation
        self.aug_rng = torch.Generator().manual_seed(config.seed)

    def _autocast(self):
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=self.amp)

    def train_step(self, images: torch.Tensor, labels: torch.Tensor,
                   targets: torch.Tensor | None = None) -> dict[str, float]:
        """One update on a batch of preprocessed (already augmented) images, at the encoder's input size, and their
        product labels.

        `targets` are the pictures the decoder should reconstruct (the discriminator's real photos), rendered at
        `image_size`: by default the images themselves; for a denoising generator, the images before they were relit
        and occluded.
        """
        size = self.config.input_size
        assert images.ndim == 4 and images.shape[1:] == (3, size, size), \
            f"expected (n, 3, {size}, {size}), got {tuple(images.shape)}"
        assert targets is None or targets.shape == images.shape, "targets must match the images"
        c = self.config
        x, labels = images.to(self.device, non_blocking=True), labels.to(self.device)
        real = self.at_image_size(x if targets is None else targets.to(self.device, non_blocking=True))
        if c.cross_view:
            real = real[other_views(labels)]
        self.generator.train()
        metrics: dict[str, float] = {}
        with self._autocast():
            z, recon = self.generator(x)

        if self.discriminator is not None and recon is not None:
            self.discriminator.train()
            with self._autocast():
                loss_d = discriminator_loss(self.discriminator(real), self.discriminator(recon.detach()),
                                            c.adversarial)
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
            metrics["loss_d"] = loss_d.item()

        with self._autocast():
            loss_triplet, active = triplet_loss(z, labels, margin=c.margin, mining=c.mining)
            total = c.w_triplet * loss_triplet
            metrics["loss_triplet"], metrics["active_triplets"] = loss_triplet.item(), float(active)
            if self.teacher is not None:
                loss_distill = relational_distillation_loss(z, self.teach(x))
                total = total + c.w_distill * loss_distill
                metrics["loss_distill"] = loss_distill.item()
            if recon is not None:
                loss_pixel = pixel_loss(real, recon)
                total = total + c.w_pixel * loss_pixel
                metrics["loss_pixel"] = loss_pixel.item()
                if self.features is not None:
                    with torch.no_grad():
                        real_maps = self.features(real)
                    loss_perceptual = perceptual_loss(real_maps, self.features(recon))
                    total = total + c.w_perceptual * loss_perceptual
                    metrics["loss_perceptual"] = loss_perceptual.item()
                if self.discriminator is not None:
                    loss_adv = generator_adversarial_loss(self.discriminator(recon), c.adversarial)
                    total = total + c.w_adversarial * loss_adv
                    metrics["loss_adversarial"] = loss_adv.item()
        self.opt_g.zero_grad(set_to_none=True)
        total.backward()
        nn.utils.clip_grad_norm_(self.generator.parameters(), 5.0)
        self.opt_g.step()
        self.sched_g.step()
        self.step += 1
        metrics["loss_total"] = total.item()
        return metrics

    def at_image_size(self, images: torch.Tensor) -> torch.Tensor:
        """Photos at the decoder's side (what it renders and the discriminator judges), from the encoder's input size."""
        size = self.config.image_size
        if images.shape[-1] == size:
            return images
        return F.interpolate(images, size=(size, size), mode="bilinear", antialias=True, align_corners=False)

    def _keep_blocks(self, _module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        self.shared_blocks[:] = [output.detach()]  # only the latest forward's

    @torch.no_grad()
    def teach(self, images: torch.Tensor) -> torch.Tensor:
        """The teacher's GeM-pooled head features of the images, seen at `distill_size` pixels; with a whitening, the
        code that the untrained projection makes of them."""
        if self.shared_blocks:
            pooled = gem(self.teacher.head_features(self.shared_blocks.pop()).float())
        else:
            size = self.config.distill_size
            if images.shape[-1] != size:
                images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
            pooled = gem(self.teacher(images)[-1].float())
        if self.teacher_projection is None:
            return pooled
        return F.normalize(self.teacher_projection(F.normalize(pooled, dim=1)), dim=1)

    @torch.no_grad()
    def whiten(self, images: Sequence[Image.Image], batch_size: int = 64) -> None:
        """Start the projection as the config's whitening of the encoder's pooled features of `images` (unlabeled)."""
        c, encoder = self.config, self.generator.encoder
        encoder.eval()
        pooled = torch.cat([encoder.pooled(to_tensor(images[i:i + batch_size], c.input_size).to(self.device)).cpu()
                            for i in range(0, len(images), batch_size)])
        mean, matrix = fit_whitening(pooled, power=c.whitening_power, shrinkage=c.whitening_shrinkage, keep=c.z_dim)
        set_whitening(encoder.project, mean.to(self.device), matrix.to(self.device))
        self.keep_start()

    def keep_start(self) -> None:
        """With a whitening, the distillation keeps the distances of the codes that the projection makes now."""
        if self.config.whitening and self.teacher is not None:
            self.teacher_projection = copy.deepcopy(self.generator.encoder.project).eval().requires_grad_(False)

    def train_epoch(self, bank: ImageBank, *, on_step: Callable[[dict], None] | None = None) -> dict[str, float]:
        """One pass over the products; returns the mean of each metric."""
        c = self.config
        rng = np.random.default_rng([c.seed, self.epoch])
        sums: dict[str, float] = {}
        count = 0
        for images, labels in pk_batches(bank, products_per_batch=max(2, c.batch_size // c.views_per_product),
                                         views_per_product=c.views_per_product, rng=rng):
            images, targets = self.corrupt(images.to(self.device, non_blocking=True))
            metrics = self.train_step(images, labels, targets)
            self.history.append({"step": self.step, "epoch": self.epoch, **metrics})
            for key, value in metrics.items():
                sums[key] = sums.get(key, 0.0) + value
            count += 1
            if on_step:
                on_step(metrics)
        self.epoch += 1
        return {key: value / max(count, 1) for key, value in sums.items()}

    def corrupt(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(what the generator sees, what it reconstructs): reframed, relit, sometimes blurred to a thumbnail and
        sometimes occluded photos, and for a denoising generator the same reframed photos as they were (None:
        reconstruct the input)."""
        c = self.config
        framed = reframe(images, self.aug_rng) if c.augment else images
        seen = relight(framed, self.aug_rng) if c.augment else framed
        seen = blur_resolution(seen, self.aug_rng, probability=c.low_resolution)
        seen = occlude(seen, self.aug_rng, probability=c.occlusion)
        return seen, (framed if c.denoise and c.reconstruct else None)

    @torch.inference_mode()
    def embed(self, images: torch.Tensor, batch_size: int = 128) -> np.ndarray:
        self.generator.eval()
        out = []
        for begin in range(0, len(images), batch_size):
            with self._autocast():
                out.append(self.generator.encoder(images[begin:begin + batch_size].to(self.device)).float().cpu())
        return torch.cat(out).numpy()

    def validate(self, bank: ImageBank) -> dict[str, float]:
        """Held-out-view retrieval on the validation products: each product's last photo queries the others."""
        queries = [views[-1] for views in bank.views if len(views) >= 2]
        gallery = [i for views in bank.views for i in (views[:-1] if len(views) >= 2 else views)]
        if not queries:
            return {}
        vectors = self.embed(bank.images)
        owner = bank.owner.numpy()
        ranking = rank(vectors[queries], vectors[gallery], 10)
        hits = relevance(owner[queries], owner[gallery], ranking)
        counts = np.array([len(bank.views[owner[q]]) - 1 for q in queries])
        metrics = retrieval_metrics(hits, counts)
        self.history.append({"step": self.step, "epoch": self.epoch, **{f"val_{k}": v for k, v in metrics.items()}})
        return metrics

    @torch.inference_mode()
    def reconstruct(self, images: torch.Tensor) -> torch.Tensor | None:
        self.generator.eval()
        with self._autocast():
            _, recon = self.generator(images.to(self.device))
        return None if recon is None else recon.float().cpu()

    def modules(self) -> dict[str, nn.Module]:
        mods: dict[str, nn.Module] = {"generator": self.generator}
        if self.discriminator is not None:
            mods["discriminator"] = self.discriminator
        return mods

    def resume_state(self) -> dict:
        return {"step": self.step, "epoch": self.epoch, "history": self.history, "config": asdict(self.config),
                "opt_g": self.opt_g.state_dict(), "sched_g": self.sched_g.state_dict(),
                "opt_d": self.opt_d.state_dict() if self.opt_d else None, "aug_rng": self.aug_rng.get_state(),
                "torch_rng": torch.get_rng_state()}

    def load_weights(self, checkpoint: Path) -> None:
        """The generator's and discriminator's weights from a checkpoint of the same architecture."""
        for name, module in self.modules().items():
            module.load_state_dict(load_state(checkpoint, name))

    def load_resume_state(self, state: dict) -> None:
        """Optimisers, schedule, step counters, history and random streams, to go on where a run stopped."""
        if self.opt_d is not None:
            self.opt_d.load_state_dict(state["opt_d"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.sched_g.load_state_dict(state["sched_g"])
        self.step, self.epoch, self.history = state["step"], state["epoch"], state["history"]
        self.aug_rng.set_state(state["aug_rng"])
        torch.set_rng_state(state["torch_rng"])


def other_views(labels: torch.Tensor) -> torch.Tensor:
    """For each batch position, the next position holding a photo of the same product (cyclically within the
    product; itself when the product has one photo in the batch)."""
    partner = torch.arange(len(labels), device=labels.device)
    for label in labels.unique():
        positions = (labels == label).nonzero().flatten()
        partner[positions] = positions.roll(-1)
    return partner


def split_products(products: Sequence[Product], fraction: float, seed: int) -> tuple[list[Product], list[Product]]:
    """(train, validation) products; validation takes `fraction` of them (none when fraction is 0)."""
    order = np.random.default_rng(seed).permutation(len(products))
    n_val = int(round(len(products) * fraction)) if fraction > 0 else 0
    val = {int(i) for i in order[:n_val]}
    return ([p for i, p in enumerate(products) if i not in val], [p for i, p in enumerate(products) if i in val])
