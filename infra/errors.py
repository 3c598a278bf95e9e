"""The one error of cluster management: a cause people can act on, with the tail of the log that shows it."""

from __future__ import annotations


class ClusterError(RuntimeError):
    """Something the cluster needs is missing or a service did not come up."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.log_tail = log_tail

    def __str__(self) -> str:
        if not self.log_tail:
            return self.message
        return f"{self.message}\n--- last lines of its log ---\n{self.log_tail}"
