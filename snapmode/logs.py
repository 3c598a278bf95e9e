"""Structured logging: one call configures structlog and the stdlib root handler for the whole process."""

from __future__ import annotations

import logging
import sys

import structlog


# Their INFO lines are per-request, per-segment or load-time chatter.
NOISY_LIBRARIES = ("milvus_lite", "httpx", "kafka", "faiss", "grpc", "pymilvus")
# Loggers that their library gives a stderr handler of its own on import: theirs would print apart from the
# structured lines, to the stderr of the moment of import.
SELF_HANDLED = ("pymilvus", "pymilvus.milvus_client", "pymilvus.bulk_writer")


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


def _timestamped() -> list[structlog.typing.Processor]:
    """What every line carries before it is rendered: the bound context, the level and the time."""
    return [structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso")]


def _renderers(json: bool) -> list[structlog.typing.Processor]:
    if json:
        return [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    return [structlog.dev.ConsoleRenderer(colors=False)]


def _stdlib_formatter(json: bool) -> structlog.stdlib.ProcessorFormatter:
    """Renders the stdlib records of uvicorn, Scrapy, Kafka and the rest as structlog renders its own events."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_timestamped(), structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *_renderers(json)])


def configure_logging(level: str = "INFO", json: bool = False) -> None:
    """Route structlog and stdlib logging to stderr, as key=value lines or JSON."""
    threshold = logging.getLevelNamesMapping()[level.upper()]
    handler = _CurrentStderrHandler()
    handler.setFormatter(_stdlib_formatter(json))
    logging.basicConfig(handlers=[handler], level=threshold)
    for name in SELF_HANDLED:
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
        library.setLevel(logging.NOTSET)
    for chatty in NOISY_LIBRARIES:
        logging.getLogger(chatty).setLevel(max(logging.WARNING, threshold))
    # gRPC's server logs a traceback for each call that milvus-lite does not implement (pymilvus then falls back).
    logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
    structlog.configure(
        processors=[*_timestamped(), *_renderers(json)],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
