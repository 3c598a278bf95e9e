"""Milvus errors are told apart: a server away is retried (`StoreUnavailable`), a row it refuses is not
(`StoreError`)."""

from __future__ import annotations

from pathlib import Path

import grpc
import numpy as np
import pytest
from pymilvus import MilvusException
from pymilvus.exceptions import DataNotMatchException, MilvusUnavailableException, ParamError

from snapmode.interfaces import StoreError, StoreUnavailable, VectorItem
from snapmode.stores.milvus import MilvusVectorStore, is_transient_error, store_error
from tests.stores.conftest import DIM


class Rpc(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode) -> None:
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code


@pytest.mark.parametrize("error", [
    Rpc(grpc.StatusCode.UNAVAILABLE), Rpc(grpc.StatusCode.DEADLINE_EXCEEDED),
    MilvusException(grpc.StatusCode.UNAVAILABLE, "[upsert] Retry timeout: 10s"),
    MilvusException(2, "Fail connecting to server on 127.0.0.1:19530, illegal connection params or server unavailable"),
    MilvusUnavailableException(message="server unavailable"),
    MilvusException(101, "collection not loaded"),
    MilvusException(65535, "something the server did not explain"),  # unknown: retried, never dead-lettered
    MilvusException(1, "whatever", retriable=True),
])
def test_a_server_away_or_restarting_is_transient(error: Exception) -> None:
    assert is_transient_error(error)
    assert isinstance(store_error(error, "Milvus upsert"), StoreUnavailable)


@pytest.mark.parametrize("error", [
    Rpc(grpc.StatusCode.INVALID_ARGUMENT),
    MilvusException(6, "VARCHAR field 'product_key' value length 600 exceeds max_length=512"),
    MilvusException(1100, "anything", is_input_error=True),
    ParamError(message="wrong type"), DataNotMatchException(message="rows do not match the schema"),
])
def test_a_request_wrong_in_itself_is_refused(error: Exception) -> None:
    assert not is_transient_error(error)
    refused = store_error(error, "Milvus upsert")
    assert isinstance(refused, StoreError) and not isinstance(refused, StoreUnavailable)


def test_milvus_lite_refuses_a_row_it_cannot_store(tmp_path: Path) -> None:
    store = MilvusVectorStore(uri=str(tmp_path / "vectors.db"), collection="errors", dim=DIM)
    vector = np.full(DIM, 0.25, dtype=np.float32)
    try:
        with pytest.raises(StoreError) as info:
            store.upsert([VectorItem(image_id="a", product_key="k" * 600, vector=vector)])
        assert not isinstance(info.value, StoreUnavailable) and "max_length" in str(info.value)
        store.upsert([VectorItem(image_id="b", product_key="shop:k", vector=vector)])  # the next row goes in
        assert store.count() == 1
    finally:
        store.close()


def test_an_unreachable_server_is_unavailable() -> None:
    with pytest.raises(StoreUnavailable):
        MilvusVectorStore(uri="http://127.0.0.1:9", collection="errors", dim=DIM, timeout_s=2)
