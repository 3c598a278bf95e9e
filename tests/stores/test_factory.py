"""A store opened as its index was made: the dimension comes from the collection, not from an embedder."""

from __future__ import annotations

from pathlib import Path

import pytest

from snapmode.config import Settings
from snapmode.interfaces import IndexMismatch
from snapmode.stores import lite
from snapmode.stores.factory import build_vector_store, existing_vector_store


def test_no_index_yet_opens_nothing_and_keeps_no_engine(settings: Settings) -> None:
    assert existing_vector_store(settings) is None
    assert lite._opened[settings.milvus_lite_path.resolve()] == 0
    assert existing_vector_store(settings) is None  # asked again: still none, nothing created
    assert lite._opened[settings.milvus_lite_path.resolve()] == 0


def test_an_index_is_opened_at_the_dimension_it_records(settings: Settings) -> None:
    build_vector_store(settings, dim=24, model_id="some-model:v1").close()
    store = existing_vector_store(settings, streaming=True)
    assert store is not None
    try:
        assert store.dim == 24  # type: ignore[attr-defined]
        assert store.images_of(["shop:a"]) == {}
    finally:
        store.close()
    assert lite._opened[settings.milvus_lite_path.resolve()] == 0


def test_a_refused_index_lets_the_engine_go(settings: Settings) -> None:
    build_vector_store(settings, dim=24, model_id="some-model:v1").close()
    with pytest.raises(IndexMismatch, match="made by some-model:v1"):
        build_vector_store(settings, dim=24, model_id="other-model:v1")
    assert lite._opened[settings.milvus_lite_path.resolve()] == 0  # not kept by the store that was refused
    build_vector_store(settings, dim=24, model_id="some-model:v1").close()  # the data dir opens again at once


def test_a_store_on_an_engine_socket_makes_no_folder_where_it_runs(settings: Settings, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)
    store = build_vector_store(settings, dim=24, model_id="some-model:v1")
    try:
        assert store.uri.startswith(lite.SOCKET_SCHEME)  # type: ignore[attr-defined]
    finally:
        store.close()
    assert list(here.iterdir()) == []  # the socket's path is not a data dir
