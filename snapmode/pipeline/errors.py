"""Why an image or record could not be indexed: a short machine-readable reason plus a human detail."""

from __future__ import annotations


class ImageRejected(ValueError):
    """An image that cannot be indexed. `retryable` tells whether trying again later may succeed."""

    def __init__(self, reason: str, detail: str = "", *, retryable: bool = False) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.retryable = retryable
