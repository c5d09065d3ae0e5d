"""A producer that keeps what the agents send, by topic, instead of sending it: the
:class:`streams.worker.agents.Outbox` the worker's agents publish through, without a broker."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from streams.contracts.codec import Invalid, decode
from streams.contracts.limits import MAX_DEAD_LETTER_BYTES
from streams.contracts.records import Record

R = TypeVar("R", bound=Record)


class BrokerDown(RuntimeError):
    """What :meth:`ListProducer.publish` raises while ``down`` is set."""


@dataclass
class ListProducer:
    sent: dict[str, list[tuple[bytes | None, bytes]]] = field(default_factory=lambda: defaultdict(list))
    """Topic -> (key, value) in the order sent."""
    timestamps: dict[str, list[float | None]] = field(default_factory=lambda: defaultdict(list))
    """Topic -> the Kafka timestamp asked for each message (None: now)."""
    down: bool = False

    async def publish(
        self,
        topic: str,
        messages: Sequence[tuple[bytes | None, bytes]],
        timestamps: Sequence[float | None] = (),
    ) -> None:
        if timestamps and len(timestamps) != len(messages):
            raise ValueError(f"{len(timestamps)} timestamps for {len(messages)} messages")
        if self.down:
            raise BrokerDown(f"cannot publish {len(messages)} messages to {topic}")
        self.sent[topic].extend(messages)
        self.timestamps[topic].extend(timestamps or [None] * len(messages))

    def records(self, topic: str, model: type[R]) -> list[R]:
        """What was sent to ``topic``, decoded (a value that does not decode fails the test)."""
        out = []
        for _, value in self.sent.get(topic, []):
            record = decode(model, value, max_bytes=MAX_DEAD_LETTER_BYTES)
            assert not isinstance(record, Invalid), record.reason
            out.append(record)
        return out

    def keys(self, topic: str) -> list[bytes | None]:
        return [key for key, _ in self.sent.get(topic, [])]
