"""Settings come from SNAPMODE_* env vars and an optional env file; the data dir isolates runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from snapmode.config import Settings


def test_env_vars_override_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SNAPMODE_DATA_DIR", str(tmp_path / "one"))
    monkeypatch.setenv("SNAPMODE_PORT", "9001")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.port == 9001
    assert settings.milvus_lite_path == tmp_path / "one" / "vectors.db"
    assert settings.sqlite_path.parent == tmp_path / "one"


def test_env_file_is_read_and_env_vars_win(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_file = tmp_path / "snapmode.env"
    env_file.write_text("SNAPMODE_EMBED_BATCH_SIZE=8\nSNAPMODE_COLLECTION=shoes\n")
    monkeypatch.setenv("SNAPMODE_COLLECTION", "bags")
    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert (settings.embed_batch_size, settings.collection) == (8, "bags")


@pytest.mark.parametrize(("name", "value"), [("SNAPMODE_PORT", "0"), ("SNAPMODE_EMBED_BATCH_SIZE", "-1"),
                                             ("SNAPMODE_EMBEDDER", "clip"), ("SNAPMODE_MODE", "cloud")])
def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.removeprefix("SNAPMODE_").lower()):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_cluster_mode_alone_points_every_store_at_the_native_cluster() -> None:
    settings = Settings(mode="cluster", milvus_port=19531, solr_port=8984, collection="shoes")
    assert settings.milvus_uri == "http://127.0.0.1:19531"
    assert settings.solr_url == "http://127.0.0.1:8984/solr/shoes"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"


def test_in_cluster_mode_the_urls_that_are_set_win() -> None:
    settings = Settings(mode="cluster", milvus_uri="http://milvus:19530", solr_url="http://solr:8983/solr/p")
    assert (settings.milvus_uri, settings.solr_url) == ("http://milvus:19530", "http://solr:8983/solr/p")


def test_embedded_mode_keeps_the_embedded_stores() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.mode == "embedded" and settings.milvus_uri is None and settings.solr_url is None
