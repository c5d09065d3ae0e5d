"""What agents hand to the pure steps: a message's bytes and where it came from; and the one way
a message that failed becomes a dead letter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

from streams.contracts.codec import Invalid, one_line
from streams.contracts.records import DeadLetter, Stage
from streams.kafka.dead_letters import dead_letter


@dataclass(frozen=True, slots=True)
class Incoming:
    value: bytes | None
    key: bytes | None
    topic: str
    partition: int
    offset: int
    timestamp: float | None = None
    """The Kafka record's timestamp, unix seconds."""

    @classmethod
    def of(cls, event: Any) -> Incoming:
        """From a Faust event (raw serializers)."""
        message = event.message
        return cls(
            event.value, event.key, message.topic, message.partition, message.offset, message.timestamp
        )

    @property
    def dlq_key(self) -> bytes:
        return f"{self.topic}:{self.partition}:{self.offset}".encode()


Failed: TypeAlias = tuple[Incoming, DeadLetter]
"""A message that goes to the dead-letter topic, with the letter that says why."""


def failed(message: Incoming, reason: str, stage: Stage) -> Failed:
    """``message`` as a dead letter of ``stage``, keeping its bytes, with ``reason`` made one
    readable line (see :func:`~streams.contracts.codec.one_line`); never raises."""
    invalid = Invalid(one_line(reason) or "no reason given", message.partition, message.offset)
    return message, dead_letter(invalid, stage, message.topic, message.key, message.value)


def error_reason(what: str, exc: BaseException) -> str:
    """A dead-letter reason for an exception: ``"<what> failed: <Type>: <message>"``."""
    return f"{what} failed: {type(exc).__name__}: {exc}"
