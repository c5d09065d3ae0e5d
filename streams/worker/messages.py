"""What agents hand to the pure steps: a message's bytes and where it came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Incoming:
    value: bytes | None
    key: bytes | None
    topic: str
    partition: int
    offset: int

    @classmethod
    def of(cls, event: Any) -> Incoming:
        """From a Faust event (raw serializers)."""
        message = event.message
        return cls(event.value, event.key, message.topic, message.partition, message.offset)

    @property
    def dlq_key(self) -> bytes:
        return f"{self.topic}:{self.partition}:{self.offset}".encode()
