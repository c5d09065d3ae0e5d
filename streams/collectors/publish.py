"""Where collected mentions go: the raw topic (kafka-python), or a JSON Lines file for trying a
source.

The Kafka publisher sends with ``acks=all``, retries, gzip compression and idempotence (kafka-python
turns it on with ``acks=all``; against a broker without it, sends still retry and ordering holds
with one request in flight per connection). Every mention is keyed by its thread, so a thread
stays on one partition. :meth:`KafkaPublisher.published_ids` reads the raw topic back from given
offsets: the runner's recovery after a crash between a send and its checkpoint.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from streams.collectors.source import Removal
from streams.config.kafka import KafkaSettings
from streams.contracts.codec import encode
from streams.contracts.records import MentionRemoval, RawMention, Source, mention_id
from streams.kafka.clients import kafka_python_config
from streams.kafka.topics import Topics

log = logging.getLogger("flarewatch.collect")

Offsets = dict[int, int]


class PublishError(Exception):
    """The broker did not acknowledge a send; nothing after it is checkpointed."""


class Publisher(Protocol):
    durable: bool
    """Whether checkpoints follow what this publisher sent (Kafka), or not (a file for trying)."""

    def send(self, mentions: Sequence[RawMention]) -> None:
        """Returns once every mention is acknowledged; raises :class:`PublishError`."""
        ...

    def send_removals(self, removals: Sequence[Removal]) -> None: ...

    def end_offsets(self) -> Offsets: ...

    def published_ids(self, since: Mapping[int, int]) -> set[str]: ...

    def close(self) -> None: ...


def removal_record(removal: Removal) -> MentionRemoval:
    return MentionRemoval(
        mention_id=removal.mention_id,
        brand=removal.brand,
        removed_at=removal.removed_at,
        removed_by=removal.removed_by,
        hidden=removal.hidden,
        created_at=removal.created_at,
    )


class KafkaPublisher:
    durable = True

    def __init__(self, kafka: KafkaSettings, timeout_s: float = 60.0) -> None:
        self._config = kafka_python_config(kafka)
        self._topics = Topics(kafka.topic_prefix)
        self._timeout_s = timeout_s
        self._reader: Any = None
        self._reading = threading.Lock()
        self._producer = KafkaProducer(
            acks="all",
            retries=2_147_483_647,
            compression_type="gzip",
            linger_ms=20,
            max_request_size=1 << 20,
            delivery_timeout_ms=int(timeout_s * 1000),
            client_id="flarewatch-collector",
            **self._config,
        )

    def send(self, mentions: Sequence[RawMention]) -> None:
        futures = [
            self._producer.send(self._topics.raw, key=m.partition_key, value=encode(m)) for m in mentions
        ]
        self._wait(futures)

    def send_removals(self, removals: Sequence[Removal]) -> None:
        futures = [
            self._producer.send(
                self._topics.removals,
                key=r.mention_id.encode(),
                value=encode(removal_record(r)),
            )
            for r in removals
        ]
        self._wait(futures)

    def _wait(self, futures: list[Any]) -> None:
        self._producer.flush(timeout=self._timeout_s)
        for future in futures:
            try:
                future.get(timeout=self._timeout_s)
            except KafkaError as exc:
                raise PublishError(f"the broker did not acknowledge a send: {type(exc).__name__}") from None

    def end_offsets(self) -> Offsets:
        """The raw topic's end offset per partition, as the broker reports it (a broker may report
        less than the true end; reading back from there only reads more)."""
        with self._reading:
            consumer = self._consumer()
            partitions = [TopicPartition(self._topics.raw, p) for p in self._partitions(consumer)]
            ends = consumer.end_offsets(partitions)
            return {tp.partition: int(offset) for tp, offset in ends.items()}

    def published_ids(self, since: Mapping[int, int]) -> set[str]:
        """Mention ids (``platform:native_id``) in the raw topic from ``since`` to the end, where the
        end is each partition's high watermark as fetches report it."""
        found: set[str] = set()
        with self._reading:
            consumer = self._consumer()
            partitions = [TopicPartition(self._topics.raw, p) for p in self._partitions(consumer)]
            consumer.assign(partitions)
            for tp in partitions:
                consumer.seek(tp, since.get(tp.partition, 0))
            deadline = time.monotonic() + self._timeout_s
            pending = set(partitions)
            while pending:
                if time.monotonic() > deadline:
                    raise PublishError("reading the raw topic back took too long")
                batches = consumer.poll(timeout_ms=500, max_records=5000)
                for records in batches.values():
                    for record in records:
                        mention_id = _mention_id(record.value)
                        if mention_id is not None:
                            found.add(mention_id)
                for tp in list(pending):
                    high = consumer.highwater(tp)
                    if high is not None and consumer.position(tp) >= high:
                        pending.discard(tp)
            consumer.assign([])
        return found

    def _consumer(self) -> Any:
        """One reader for offsets and recovery, made on first use and kept (callers hold
        ``_reading``: a consumer is not safe across threads)."""
        if self._reader is None:
            self._reader = KafkaConsumer(
                client_id="flarewatch-collector-recovery",
                group_id=None,
                enable_auto_commit=False,
                request_timeout_ms=int(self._timeout_s * 1000) + 5000,
                **self._config,
            )
        return self._reader

    def _partitions(self, consumer: Any) -> list[int]:
        found = consumer.partitions_for_topic(self._topics.raw)
        if not found:
            raise PublishError(f"topic {self._topics.raw} does not exist")
        return sorted(found)

    def close(self) -> None:
        self._producer.close(timeout=self._timeout_s)
        if self._reader is not None:
            self._reader.close()


def _mention_id(value: bytes | None) -> str | None:
    try:
        record = json.loads(value or b"")
        source = record.get("source", Source.ADDRESSED.value)
        return mention_id(record["platform"], record["native_id"], source, record["brand"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


class FilePublisher:
    """JSON Lines of the raw mention records, one per mention, flushed per batch; removals go to
    the log. Checkpoints are neither read nor written: trying a source shows it from its start."""

    durable = False

    def __init__(self, target: Path | str) -> None:
        self._own = str(target) != "-"
        self._out: IO[str] = (
            Path(target).open("a", encoding="utf-8") if self._own else sys.stdout  # noqa: SIM115
        )

    def send(self, mentions: Sequence[RawMention]) -> None:
        for mention in mentions:
            self._out.write(mention.model_dump_json() + "\n")
        self._out.flush()

    def send_removals(self, removals: Sequence[Removal]) -> None:
        for removal in removals:
            log.info("removed: %s (%s)", removal.mention_id, removal.removed_by or "by whom unknown")

    def end_offsets(self) -> Offsets:
        return {}

    def published_ids(self, since: Mapping[int, int]) -> set[str]:
        return set()

    def close(self) -> None:
        if self._own:
            self._out.close()
