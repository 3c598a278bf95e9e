"""The retry topic's message: a record whose images failed transiently, with when each image began failing, how many
tries failed, when it is due again and the host it waits for."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RetryState:
    """What a record carries from one try to the next: when each of its failing images first failed (epoch seconds)
    and how many tries have failed."""

    failing: dict[str, float] = field(default_factory=dict)
    attempts: int = 0

    def after(self, failed: Sequence[str], now: float) -> RetryState:
        """The state after a try in which the images `failed` transiently (the others passed, or failed for good)."""
        return RetryState({image: self.failing.get(image, now) for image in failed}, self.attempts + 1)

    def given_up(self, window_s: float, now: float) -> bool:
        """Whether every failing image has kept failing for `window_s` or longer."""
        return bool(self.failing) and all(now - since >= window_s for since in self.failing.values())

    def first_failed_at(self) -> float | None:
        return min(self.failing.values(), default=None)

    def to_json(self) -> str:
        return json.dumps({"failing": self.failing, "attempts": self.attempts})

    @classmethod
    def from_json(cls, text: str) -> RetryState:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RetryState:
        return cls({str(k): float(v) for k, v in dict(data.get("failing") or {}).items()}, int(data["attempts"]))


@dataclass(frozen=True, slots=True)
class RetryEnvelope:
    """One record waiting in the retry topic, keyed by its product key there, so a product's tries keep to one
    partition."""

    key: str
    record: str  # the record's JSON as it was published
    state: RetryState
    due_at: float  # epoch seconds: not fetched again before
    host: str  # the host of its first failing image, which it waits for
    reason: str  # the last failure's reason (`unreachable`, `http_error`, ...)
    breaker_open_until: float | None = None  # the host's breaker, when it was open: the end of its cool-down

    def to_json(self) -> str:
        return json.dumps({"key": self.key, "record": self.record, "failing": self.state.failing,
                           "attempts": self.state.attempts, "due_at": self.due_at, "host": self.host,
                           "reason": self.reason, "breaker_open_until": self.breaker_open_until}, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> RetryEnvelope:
        """The envelope of a retry-topic message; ValueError when it is not one."""
        try:
            data = json.loads(raw)
            until = data.get("breaker_open_until")
            return cls(key=str(data["key"]), record=str(data["record"]), state=RetryState.from_dict(data),
                       due_at=float(data["due_at"]), host=str(data.get("host", "")), reason=str(data.get("reason", "")),
                       breaker_open_until=float(until) if until is not None else None)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"not a retry envelope: {exc!r}") from exc
