"""The in-process queue of embedded mode: topics of one partition and committed offsets per group, with the
interface of the Kafka clients."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence

from snapmode.queue.messages import Message


class MemoryBroker:
    """Topics of one partition each and committed offsets per group, shared by its producers and consumers."""

    def __init__(self) -> None:
        self.topics: dict[str, list[Message]] = defaultdict(list)
        self.committed: dict[tuple[str, str], int] = defaultdict(int)  # (group, topic) -> next offset
        self.lock = threading.Lock()

    def producer(self) -> MemoryProducer:
        return MemoryProducer(self)

    def consumer(self, topics: Sequence[str], group: str) -> MemoryConsumer:
        return MemoryConsumer(self, topics, group)


class MemoryProducer:
    def __init__(self, broker: MemoryBroker) -> None:
        self.broker = broker

    def send(self, topic: str, messages: Sequence[tuple[str | None, bytes]]) -> None:
        with self.broker.lock:
            log = self.broker.topics[topic]
            start = len(log)
            log.extend([Message(topic, 0, start + i, key, value) for i, (key, value) in enumerate(messages)])

    def close(self) -> None:
        pass


class MemoryConsumer:
    def __init__(self, broker: MemoryBroker, topics: Sequence[str], group: str) -> None:
        self.broker, self.topics, self.group = broker, list(topics), group
        with broker.lock:
            self._position = {t: broker.committed[(group, t)] for t in self.topics}

    def poll(self, timeout_s: float = 1.0, max_records: int = 500) -> list[Message]:
        out: list[Message] = []
        with self.broker.lock:
            for topic in self.topics:
                fresh = self.broker.topics[topic][self._position[topic]:][:max_records - len(out)]
                self._position[topic] += len(fresh)
                out.extend(fresh)
        return out

    def commit(self, upto: Message | None = None) -> None:
        with self.broker.lock:
            if upto is not None:
                self.broker.committed[(self.group, upto.topic)] = upto.offset + 1
            else:
                for topic, position in self._position.items():
                    self.broker.committed[(self.group, topic)] = position

    def close(self) -> None:
        pass
