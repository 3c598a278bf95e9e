"""One checkpoint folder: `model.safetensors` (weights), `config.json`, `metrics.json`, and `resume.pt` to go on training."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from snapmode.model.config import CbirGanConfig
from snapmode.model.networks import Discriminator, Generator

WEIGHTS, CONFIG, METRICS, RESUME = "model.safetensors", "config.json", "metrics.json", "resume.pt"
DEFAULT_CHECKPOINT = Path(__file__).parent / "weights" / "cbir_gan"
DEFAULT_TRIPLET_CHECKPOINT = Path(__file__).parent / "weights" / "triplet"


def save_checkpoint(folder: Path, *, config: CbirGanConfig, modules: dict[str, nn.Module], metrics: dict,
                    resume_state: dict | None = None, half: bool = False) -> Path:
    """Write the weights of `modules` (prefixed by their names), the config and the metrics into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for prefix, module in modules.items():
        for key, value in module.state_dict().items():
            value = value.detach().to("cpu").contiguous()
            tensors[f"{prefix}.{key}"] = value.half() if half and value.is_floating_point() else value
    save_file(tensors, str(folder / WEIGHTS), metadata={"format": "pt", "dtype": "float16" if half else "float32"})
    (folder / CONFIG).write_text(config.to_json(), encoding="utf-8")
    (folder / METRICS).write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    if resume_state is not None:
        torch.save(resume_state, folder / RESUME)
    return folder


def load_state(folder: Path, prefix: str) -> dict[str, torch.Tensor]:
    """The tensors saved under `prefix.` (prefix stripped), as float32 where floating."""
    tensors = load_file(str(Path(folder) / WEIGHTS))
    start = prefix + "."
    return {k[len(start):]: (v.float() if v.is_floating_point() else v) for k, v in tensors.items() if k.startswith(start)}


def weights_digest(folder: Path) -> str:
    """The first 12 hex digits of the SHA-256 of a checkpoint's weights: what names the model that made a vector."""
    path = (Path(folder) / WEIGHTS).resolve()
    stat = path.stat()
    return _file_digest(path, stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=16)
def _file_digest(path: Path, size: int, mtime_ns: int) -> str:
    """Read once per version of the file (a server asks at start for the index check, the graph check and the model)."""
    digest = hashlib.sha256()
    with open(path, "rb") as weights:
        for block in iter(lambda: weights.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]


def load_config(folder: Path) -> CbirGanConfig:
    path = Path(folder) / CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"{folder}: no {CONFIG}; not a CBIR-GAN checkpoint folder")
    return CbirGanConfig.load(path)


def load_generator(folder: Path) -> tuple[Generator, CbirGanConfig]:
    """The generator of a checkpoint on the CPU, in eval mode, with its config."""
    config = load_config(folder)
    generator = Generator(replace(config, pretrained_encoder=False))
    generator.load_state_dict(load_state(folder, "generator"))
    return generator.eval(), config


def load_discriminator(folder: Path, config: CbirGanConfig) -> Discriminator:
    discriminator = Discriminator(image_size=config.image_size, width=config.disc_width)
    discriminator.load_state_dict(load_state(folder, "discriminator"))
    return discriminator
