"""The retry topic's envelope: what a record carries from one try to the next, and how its window runs out."""

from __future__ import annotations

import pytest

from snapmode.queue.retry import RetryEnvelope, RetryState


def test_an_image_keeps_its_first_failure_until_it_stops_failing() -> None:
    state = RetryState().after(["a", "b"], now=100.0)
    assert state == RetryState({"a": 100.0, "b": 100.0}, attempts=1)
    state = state.after(["b", "c"], now=160.0)  # a passed (or failed for good), c began failing
    assert state == RetryState({"b": 100.0, "c": 160.0}, attempts=2)
    assert state.first_failed_at() == 100.0


def test_the_window_runs_out_when_every_failing_image_has_failed_that_long() -> None:
    state = RetryState({"b": 100.0, "c": 160.0}, attempts=2)
    assert not state.given_up(window_s=60, now=159.0)
    assert not state.given_up(window_s=60, now=219.0)  # c is still within it
    assert state.given_up(window_s=60, now=220.0)
    assert not RetryState().given_up(window_s=0, now=0.0)  # nothing failing: nothing to give up


def test_the_envelope_round_trips() -> None:
    envelope = RetryEnvelope(key="shop:p1", record='{"site": "shop"}', state=RetryState({"a": 1.5}, 3), due_at=9.25,
                             host="127.0.0.1:8080", reason="unreachable", breaker_open_until=12.0)
    assert RetryEnvelope.from_json(envelope.to_json()) == envelope
    assert RetryEnvelope.from_json(envelope.to_json().encode()) == envelope
    closed = RetryEnvelope(key="k", record="{}", state=RetryState(), due_at=1.0, host="", reason="busy")
    assert RetryEnvelope.from_json(closed.to_json()).breaker_open_until is None
    assert RetryState.from_json(envelope.state.to_json()) == envelope.state


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b'{"key": "k"}', b'{"key": "k", "record": "{}", "attempts": 1,'
                                 b' "due_at": "soon"}'])
def test_what_is_no_envelope_is_refused(raw: bytes) -> None:
    with pytest.raises(ValueError, match="not a retry envelope"):
        RetryEnvelope.from_json(raw)
