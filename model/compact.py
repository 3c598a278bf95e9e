"""Compact codes: a checkpoint whose projection keeps only the top principal directions of another's codes.

The codes of a trained checkpoint are reduced by a shrunk PCA whitening (`model/whitening.py`) of its unnormalised
codes on unlabeled drawings, folded into its projection: the trunk is untouched, so the new checkpoint embeds at the
same cost, and its codes are `dims` long. The decoder's first layer is composed with the least-squares map from the
short codes back to the long ones, so the reconstructions, and a fine-tune's GAN terms, start where they were.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from snapmode.model.checkpoint import METRICS, load_discriminator, load_generator, save_checkpoint
from snapmode.model.config import CbirGanConfig
from snapmode.model.embedder import checkpoint_model_id
from snapmode.model.inference import embed_batches
from snapmode.model.networks import HEAD_CHANNELS, Generator
from snapmode.model.whitening import fit_whitening

SHRINKAGE = 0.01


@torch.no_grad()
def compact_generator(generator: Generator, config: CbirGanConfig, images: Sequence[Image.Image], *, dims: int,
                      power: float) -> tuple[Generator, dict]:
    """A copy of `generator` whose codes are its codes' `dims` principal directions on `images`, and what was fitted."""
    encoder = generator.encoder
    old_dim = encoder.project.out_features
    if not 0 < dims < old_dim:
        raise ValueError(f"compact codes are shorter than the checkpoint's {old_dim}, got {dims}")
    if len(images) <= dims:
        raise ValueError(f"{dims} directions need more than {dims} images, got {len(images)}")
    pooled = torch.from_numpy(embed_batches(images, encoder.pooled, dim=HEAD_CHANNELS, size=config.input_size,
                                            device=torch.device("cpu"), batch_size=32))
    codes = encoder.project(pooled)  # unnormalised: what the projection can be composed with
    mean, matrix = fit_whitening(codes, power=power, shrinkage=SHRINKAGE, keep=dims)
    shorter = replace(config, z_dim=dims, identity_projection=False, pretrained_encoder=False)
    compact = _rebuilt(generator, shorter)
    compact.encoder.project.weight.copy_(matrix.T @ encoder.project.weight)
    compact.encoder.project.bias.copy_((encoder.project.bias - mean) @ matrix)
    if generator.decoder is not None:
        long_codes, short_codes = F.normalize(codes, dim=1), F.normalize((codes - mean) @ matrix, dim=1)
        back = torch.linalg.lstsq(short_codes, long_codes).solution  # (dims, old_dim): short code -> long code
        compact.decoder.start.weight.copy_(generator.decoder.start.weight @ back.T)
    kept = (codes - mean).pow(2).sum(1).mean().item()
    reduced = ((codes - mean) @ matrix @ torch.linalg.pinv(matrix) - (codes - mean)).pow(2).sum(1).mean().item()
    return compact, {"dims": dims, "from_dims": old_dim, "power": power, "shrinkage": SHRINKAGE,
                     "images": len(images), "variance_kept": round(1 - reduced / kept, 4)}


def _rebuilt(generator: Generator, config: CbirGanConfig) -> Generator:
    """A generator of `config` (the same architecture, shorter codes), every weight but the code's ends copied."""
    compact = Generator(config).eval()
    state = {k: v for k, v in generator.state_dict().items()
             if not k.startswith("encoder.project.") and k != "decoder.start.weight"}
    missing, unexpected = compact.load_state_dict(state, strict=False)
    assert not unexpected and set(missing) == {"encoder.project.weight", "encoder.project.bias",
                                               *(["decoder.start.weight"] if generator.decoder is not None else [])}
    return compact


def compact_checkpoint(source: Path, out: Path, images: Sequence[Image.Image], *, dims: int,
                       power: float) -> tuple[Path, dict]:
    """Write a checkpoint into `out` whose codes are `dims` long, fitted on `images` (unlabeled). Returns it and a
    summary (what was fitted, the source's model id)."""
    generator, config = load_generator(source)
    compact, fitted = compact_generator(generator, config, images, dims=dims, power=power)
    summary = {"compacted_from": checkpoint_model_id(source), **fitted}
    trained = json.loads((source / METRICS).read_text()) if (source / METRICS).exists() else {}
    save_checkpoint(out, config=replace(config, z_dim=dims, identity_projection=False),
                    metrics={**trained, "compact": summary},
                    modules={"generator": compact, **({"discriminator": load_discriminator(source, config)}
                                                      if config.reconstruct else {})}, half=True)
    return out, summary
