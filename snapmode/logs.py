"""Structured logging: one call configures structlog for the whole process."""

from __future__ import annotations

import logging
import sys

import structlog


# Their INFO lines are per-request, per-segment or load-time chatter.
NOISY_LIBRARIES = ("milvus_lite", "httpx", "kafka", "faiss", "grpc", "pymilvus")


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of each record, so a swapped or closed stream never breaks it."""

    @property  # type: ignore[override]
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:  # type: ignore[no-untyped-def]
        pass


def _stderr_logger(*_args: object) -> structlog.PrintLogger:
    return structlog.PrintLogger(sys.stderr)


def configure_logging(level: str = "INFO", json: bool = False) -> None:
    """Route structlog and stdlib logging to stderr, as key=value lines or JSON."""
    threshold = logging.getLevelNamesMapping()[level.upper()]
    logging.basicConfig(handlers=[_CurrentStderrHandler()], level=threshold, format="%(message)s")
    for chatty in NOISY_LIBRARIES:
        logging.getLogger(chatty).setLevel(max(logging.WARNING, threshold))
    # gRPC's server logs a traceback for each call that milvus-lite does not implement (pymilvus then falls back).
    logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
