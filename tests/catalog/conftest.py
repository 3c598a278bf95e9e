"""A small sample catalog, generated once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from snapmode.catalog.generate import GenerateOptions, generate_catalog

SMALL = GenerateOptions(products=30, views=3, seed=11, image_size=128, workers=1)


@pytest.fixture(scope="session")
def small_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("catalog")
    generate_catalog(out, options=SMALL)
    return out
