"""Messages as the consumer hands them to the steps, without a broker."""

from __future__ import annotations

from streams.contracts.codec import encode
from streams.contracts.records import Record
from streams.worker.messages import Incoming

DEEP = b"[" * 100_000 + b"]" * 100_000
"""The JSON array nested 100,000 levels deep that once stopped the scoring agent."""


def incoming(
    value: bytes | Record | None, offset: int = 0, topic: str = "fw.mentions.raw", partition: int = 0
) -> Incoming:
    """A message at ``topic``/``partition``/``offset``; a record is encoded as a producer would."""
    data = encode(value) if isinstance(value, Record) else value
    key = value.partition_key if hasattr(value, "partition_key") else None
    return Incoming(data, key, topic, partition, offset, timestamp=1_700_000_000.0)


def batch(*values: bytes | Record | None, topic: str = "fw.mentions.raw") -> list[Incoming]:
    """Messages at offsets 0, 1, 2, ... of one partition."""
    return [incoming(v, i, topic) for i, v in enumerate(values)]
