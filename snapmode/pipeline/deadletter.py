"""Dead-letter sinks: where rejected records and images go, with their reasons. Kafka's topic is the real one."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from snapmode.pipeline.steps import Rejection

if TYPE_CHECKING:
    from snapmode.config import Settings


class DeadLetterSink(Protocol):
    def send(self, rejection: Rejection) -> None: ...


def dead_letter_file(settings: Settings) -> Path:
    """Where the embedded mode writes its dead letters."""
    return settings.data_dir / "dead-letter.jsonl"


class JsonlDeadLetter:
    """Appends each rejection as one JSON line to a file (the embedded stand-in for the dead-letter topic)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def send(self, rejection: Rejection) -> None:
        line = json.dumps(asdict(rejection), ensure_ascii=False)
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")


class KafkaDeadLetter:
    """Publishes each rejection as JSON to the dead-letter topic, keyed by its product key when known; `send`
    returns once every in-sync replica has it, so a caller that acknowledges its input afterwards loses nothing."""

    def __init__(self, settings: Settings) -> None:
        from snapmode.queue import KafkaProducerQueue

        self.topic = settings.dead_letter_topic
        self.producer = KafkaProducerQueue(settings)

    def send(self, rejection: Rejection) -> None:
        value = json.dumps(asdict(rejection), ensure_ascii=False).encode()
        self.producer.send(self.topic, [(rejection.product_key, value)])

    def close(self) -> None:
        self.producer.close()
