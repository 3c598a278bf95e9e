"""Retries of transient failures (a store or broker away, an image host answering 503): a growing delay with a cap.

Transient means `StoreUnavailable` (the stores and the queue classify their own errors); anything else can never
succeed by retrying and is the caller's to dead-letter with its reason. One call retries within a budget; what outlives
it is handed back (a Storm tuple fails and the spout replays it later, again with a growing delay; a record whose
image host fails goes to the retry topic, see topologies/fetch.py): no outage makes a record give up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_before_delay, wait_exponential

from snapmode.interfaces import StoreUnavailable

if TYPE_CHECKING:
    from snapmode.config import Settings

T = TypeVar("T")


def is_transient(exc: BaseException) -> bool:
    """Whether trying again later may succeed."""
    return isinstance(exc, StoreUnavailable)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays of 1st, 2nd, ... retry: `first_s` doubling up to `cap_s`; one call retries for at most `budget_s`."""

    first_s: float = 0.5
    cap_s: float = 30.0
    budget_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Backoff:
        return cls(first_s=settings.retry_first_delay_s, cap_s=settings.retry_max_delay_s,
                   budget_s=settings.store_retry_budget_s)

    def wait(self) -> wait_exponential:
        return wait_exponential(multiplier=self.first_s, max=self.cap_s)

    def delay(self, retry: int) -> float:
        """The delay before retry number `retry` (1 for the first)."""
        state = RetryCallState(None, None, (), {})  # type: ignore[arg-type]
        state.attempt_number = max(1, retry)
        return float(self.wait()(state))


def retry_transient(call: Callable[[], T], backoff: Backoff,
                    on_retry: Callable[[BaseException, int, float], None] | None = None) -> T:
    """`call()`, retried while it raises a transient error and the budget lasts (no retry starts after it); then the
    last error propagates, as does any other error at once. `on_retry(error, attempt, delay_s)` before each wait."""

    def before_sleep(state: RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None and state.next_action is not None:
            on_retry(state.outcome.exception(), state.attempt_number, state.next_action.sleep)  # type: ignore[arg-type]

    retrying = Retrying(retry=retry_if_exception(is_transient), wait=backoff.wait(),
                        stop=stop_before_delay(backoff.budget_s), reraise=True, before_sleep=before_sleep)
    return retrying(call)
