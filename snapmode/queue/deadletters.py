"""Dead letters: where rejected records and images go, with their reasons (written by the pipeline: Kafka's topic on a
cluster, a JSONL file embedded), and how operators read them and replay their records.

On a cluster the letters are the dead-letter topic's; embedded, the lines of `$SNAPMODE_DATA_DIR/dead-letter.jsonl`.
A letter carries the input it was made from (`payload`): the raw record of a malformed or exhausted one, the record
of a refused image or row, the tombstone of a refused deletion. Replaying sends that payload through again (to the
records topic, keyed by product; embedded, into the in-process pipeline): each record once, however many of its
images were dead-lettered. A replayed record older than what the stores hold changes nothing; one that fails again is
dead-lettered again.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from snapmode.pipeline.steps import Rejection, parse_record
from snapmode.queue.kafka import KafkaProducerQueue, read_topic
from snapmode.queue.messages import Message, Producer
from snapmode.records import Versioned

if TYPE_CHECKING:
    from snapmode.config import Settings


# -- Writing ---

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
        self.topic = settings.dead_letter_topic
        self.producer = KafkaProducerQueue(settings)

    def send(self, rejection: Rejection) -> None:
        value = json.dumps(asdict(rejection), ensure_ascii=False).encode()
        self.producer.send(self.topic, [(rejection.product_key, value)])

    def close(self) -> None:
        self.producer.close()


# -- Reading and replaying ---

UNREADABLE = "unreadable_letter"  # a message of the topic that is no rejection


@dataclass(frozen=True, slots=True)
class Letter:
    partition: int
    offset: int
    rejection: Rejection

    @property
    def reason(self) -> str:
        return self.rejection.reason

    def as_dict(self) -> dict[str, object]:
        return {"partition": self.partition, "offset": self.offset, **asdict(self.rejection)}


def parse_letter(message: Message) -> Letter:
    try:
        rejection = Rejection(**json.loads(message.value))
    except (ValueError, TypeError) as exc:
        rejection = Rejection(reason=UNREADABLE, detail=str(exc)[:300], product_key=message.key,
                              payload=message.value.decode("utf-8", "replace")[:10_000])
    return Letter(message.partition, message.offset, rejection)


def read_letters(settings: Settings, reasons: Sequence[str] = ()) -> list[Letter]:
    """Every letter (of the dead-letter topic, oldest first per partition; embedded, of the dead-letter file, in the
    order written); only those of `reasons` when given."""
    embedded = settings.mode == "embedded"
    return select(read_letter_file(dead_letter_file(settings)) if embedded else topic_letters(settings), reasons)


def topic_letters(settings: Settings) -> list[Letter]:
    """Every letter of the dead-letter topic, oldest first per partition."""
    return [parse_letter(m) for m in read_topic(settings, settings.dead_letter_topic)]


def read_letter_file(path: Path) -> list[Letter]:
    """The letters of a dead-letter file, one per line (its line number, from 0, as the offset)."""
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [parse_letter(Message(str(path), 0, number, None, line.encode())) for number, line in enumerate(lines)
            if line.strip()]


def payloads(letters: Iterable[Letter]) -> list[tuple[str | None, str]]:
    """The distinct (product key, input) pairs of `letters`, in their order: what a replay sends."""
    return list(dict.fromkeys((letter.rejection.product_key, letter.rejection.payload) for letter in letters
                              if letter.rejection.payload))


def select(letters: Iterable[Letter], reasons: Sequence[str] = ()) -> list[Letter]:
    return [letter for letter in letters if not reasons or letter.reason in reasons]


def by_reason(letters: Iterable[Letter]) -> dict[str, int]:
    return dict(Counter(letter.reason for letter in letters).most_common())


@dataclass(frozen=True, slots=True)
class ReplayReport:
    letters: int  # letters considered
    published: int  # records (and tombstones) sent to the records topic
    without_payload: int  # letters that carry no input to send again

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def replay(letters: Sequence[Letter], producer: Producer, topic: str) -> ReplayReport:
    """Publish each distinct payload of `letters` to `topic`, keyed by its product key; returns what was done."""
    messages = payloads(letters)
    if messages:
        producer.send(topic, [(key, payload.encode()) for key, payload in messages])
    return replay_report(letters, len(messages))


def replay_items(letters: Sequence[Letter]) -> list[Versioned | Rejection]:
    """The records and tombstones of `letters` to send through the in-process pipeline (the embedded replay); a
    payload that is no record becomes a `Rejection` again, as on the records topic."""
    return [parse_record(payload, f"dead letter of {key or 'no product'}") for key, payload in payloads(letters)]


def replay_report(letters: Sequence[Letter], sent: int) -> ReplayReport:
    return ReplayReport(letters=len(letters), published=sent,
                        without_payload=sum(1 for letter in letters if not letter.rejection.payload))
