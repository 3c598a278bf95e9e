"""One way to wait for a condition: `wait_until` polls it until it holds or a deadline passes (tenacity underneath)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

T = TypeVar("T")


class WaitTimeout(TimeoutError, AssertionError):
    """The condition did not hold in time. An `AssertionError` too, so a test that waits reads as a failed check."""


def wait_until(condition: Callable[[], T], *, timeout_s: float, interval_s: float = 0.5, what: str = "the condition",
               detail: Callable[[], str] | None = None) -> T:
    """Call `condition` every `interval_s` until it returns a truthy value, and return that value; raise `WaitTimeout`
    after `timeout_s` (its message names `what` and, when given, `detail()`: the state last seen). An exception from
    `condition` ends the wait at once (a process that exited, a service that refused)."""
    retrying = Retrying(retry=retry_if_result(lambda value: not value), stop=stop_after_delay(timeout_s),
                        wait=wait_fixed(interval_s), reraise=True)
    try:
        return retrying(condition)
    except RetryError:
        seen = f": {detail()}" if detail is not None else ""
        raise WaitTimeout(f"{what}: not within {timeout_s:g} s{seen}") from None
