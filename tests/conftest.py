"""Shared fixtures: settings isolated in a temporary data dir, a small sample catalog, image factories."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from snapmode.config import Settings, get_settings
from snapmode.datasets.catalog.generate import GenerateOptions, generate_catalog
from snapmode.infra import ports
from tests.cluster import native_cluster  # noqa: F401 - session fixture of the integration tests

SMALL = GenerateOptions(products=30, views=3, seed=11, image_size=128, workers=1)


@pytest.fixture
def free_port() -> int:
    """A loopback port nothing listens on."""
    return ports.free_port()


@pytest.fixture(scope="session")
def small_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sample catalog, generated once per test session."""
    out = tmp_path_factory.mktemp("catalog")
    generate_catalog(out, options=SMALL)
    return out


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """`cli_env(DATA_DIR=path, ...)`: the settings of `snapmode` commands run in this test come from these
    `SNAPMODE_*` variables and the environment, never from an env file."""
    def use(**variables: object) -> None:
        monkeypatch.setenv("SNAPMODE_ENV_FILE", str(tmp_path / "absent.env"))
        for name, value in variables.items():
            monkeypatch.setenv(f"SNAPMODE_{name}", str(value))
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def jpeg_bytes(colour: tuple[int, int, int] = (200, 40, 40), size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def png_bomb_bytes(width: int = 50_000, height: int = 50_000) -> bytes:
    """A valid PNG header announcing width x height pixels, with almost no pixel data behind it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


class MeanColourEmbedder:
    """A tiny deterministic embedder for tests of the plumbing (the real models are tested in tests/model)."""

    name = model_id = "mean-colour"
    dim = 8

    def embed(self, images: Sequence[Image.Image]) -> np.ndarray:
        rows = []
        for image in images:
            mean = np.asarray(image.convert("RGB"), dtype=np.float32).reshape(-1, 3).mean(0) / 255.0
            v = np.concatenate([mean, mean ** 2, [1.0, 0.5]]).astype(np.float32)
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows)
