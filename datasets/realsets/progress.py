"""How a builder reports progress: a `track(items, description)` that yields the items (rich's `track` fits)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
Track = Callable[[Sequence[Any], str], Iterable[Any]]


def silent(items: Sequence[T], description: str) -> Iterable[T]:
    """No progress shown."""
    return items
