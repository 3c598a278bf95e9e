"""Transient failures are waited out with a growing, capped delay; what can never succeed is refused at once."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from snapmode.interfaces import StoreUnavailable, VectorItem
from snapmode.queue.deadletters import read_letter_file
from snapmode.retries import Backoff, retry_transient
from snapmode.waiting import WaitTimeout, wait_until
from tests.pipeline.test_updates import make_runner, photos, product  # noqa: F401 - fixture

FAST = Backoff(first_s=0.01, cap_s=0.04, budget_s=5.0)


def flaky(failures: int, result: str = "done"):  # type: ignore[no-untyped-def]
    calls = []

    def call() -> str:
        calls.append(time.monotonic())
        if len(calls) <= failures:
            raise StoreUnavailable("away")
        return result
    return call, calls


def test_delays_grow_and_stop_at_the_cap() -> None:
    assert [Backoff(first_s=0.5, cap_s=3.0).delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_a_transient_error_is_retried_until_it_goes_away() -> None:
    call, calls = flaky(4)
    seen: list[tuple[int, float]] = []
    assert retry_transient(call, FAST, on_retry=lambda e, n, d: seen.append((n, d))) == "done"
    assert len(calls) == 5 and [n for n, _ in seen] == [1, 2, 3, 4]
    assert [d for _, d in seen] == [0.01, 0.02, 0.04, 0.04]


def test_the_budget_bounds_one_call_and_the_last_error_propagates() -> None:
    call, calls = flaky(10_000)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        retry_transient(call, Backoff(first_s=0.05, cap_s=0.05, budget_s=0.3))
    assert time.monotonic() - started < 1.0 and 3 <= len(calls) <= 8


def test_anything_else_is_not_retried() -> None:
    calls = []

    def refused() -> None:
        calls.append(1)
        raise ValueError("a row no store takes")

    with pytest.raises(ValueError):
        retry_transient(refused, FAST)
    assert calls == [1]


def test_wait_until_returns_the_value_or_names_what_it_waited_for() -> None:
    values = iter([0, None, 7])
    assert wait_until(lambda: next(values), timeout_s=5, interval_s=0.01) == 7
    with pytest.raises(WaitTimeout, match="the answer: not within 0.1 s: still 0"):
        wait_until(lambda: 0, timeout_s=0.1, interval_s=0.02, what="the answer", detail=lambda: "still 0")
    with pytest.raises(KeyError):  # an error in the condition ends the wait at once
        wait_until(lambda: {}["x"], timeout_s=5)


class AwayAtFirst:
    """Wraps a vector store whose writes fail as unavailable `failures` times."""

    def __init__(self, store, failures: int) -> None:  # type: ignore[no-untyped-def]
        self.store, self.failures = store, failures

    def upsert(self, items: Sequence[VectorItem]) -> None:
        self._away()
        self.store.upsert(items)

    def insert(self, items: Sequence[VectorItem]) -> None:
        self._away()
        self.store.insert(items)

    def _away(self) -> None:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("Milvus away")

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.store, name)


def test_the_runner_waits_out_a_store_that_is_away(tmp_path: Path, photos: dict[str, str]) -> None:  # noqa: F811
    runner = make_runner(tmp_path)
    runner.backoff = FAST
    runner.vectors = AwayAtFirst(runner.vectors, failures=3)  # type: ignore[assignment]
    records = [product("a", [photos["red"], photos["blue"]], price=10.0), product("b", [photos["green"]], price=5.0)]
    report = runner.run(records)
    assert report.images_indexed == 3 and not report.rejected
    # the metadata went in before the vectors failed: the retry still writes the vectors of that version
    assert runner.vectors.images_of(["t:a", "t:b"]) == {"t:a": {r.image_id for r in records[0].images()},
                                                        "t:b": {r.image_id for r in records[1].images()}}
    assert read_letter_file(tmp_path / "dead.jsonl") == []

