"""The dead-letter topic for operators: read its letters (each a `Rejection` with its reason), replay their records.

A letter carries the input it was made from (`payload`): the raw record of a malformed or exhausted one, the record
of a refused image or row, the tombstone of a refused deletion. Replaying publishes that payload again to the records
topic, keyed by product: each record once, however many of its images were dead-lettered. A replayed record older
than what the stores hold changes nothing; one that fails again is dead-lettered again.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from snapmode.pipeline.steps import Rejection
from snapmode.queue import Message, Producer

if TYPE_CHECKING:
    from snapmode.config import Settings

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
    """Every letter of the dead-letter topic, oldest first per partition; only those of `reasons` when given."""
    from snapmode.queue import read_topic

    return select([parse_letter(m) for m in read_topic(settings, settings.dead_letter_topic)], reasons)


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
    messages = list(dict.fromkeys((letter.rejection.product_key, letter.rejection.payload) for letter in letters
                                  if letter.rejection.payload))
    if messages:
        producer.send(topic, [(key, payload.encode()) for key, payload in messages if payload])
    return ReplayReport(letters=len(letters), published=len(messages),
                        without_payload=sum(1 for letter in letters if not letter.rejection.payload))
