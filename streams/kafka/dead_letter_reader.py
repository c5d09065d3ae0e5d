"""Reading the dead-letter topic back, choosing letters, and re-publishing their originals.

Reading stops at each partition's high watermark as the broker reports it in fetch responses,
not at ``end_offsets()``: Tansu, the embedded dev broker, answers ListOffsets(latest) with the last
batch's base offset + 1, which would end the read early. The fetch high watermark is right on
every broker, so this is no special path for Tansu.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from streams.config.kafka import KafkaSettings
from streams.contracts.codec import Invalid, decode
from streams.contracts.limits import MAX_DEAD_LETTER_BYTES
from streams.contracts.records import DeadLetter
from streams.kafka.clients import kafka_python_config
from streams.kafka.topics import Topics

Position = tuple[str, int, int]
"""Where the original message sits: topic, partition, offset."""

CONNECT_TIMEOUT_MS = 10_000
"""How long a command waits for the first broker to answer (kafka-python's default is 30 s)."""
_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class DeadLetterError(RuntimeError):
    """The broker could not be read or written; the message says what to check."""


def position(letter: DeadLetter) -> Position:
    return (letter.topic, letter.partition, letter.offset)


def parse_position(text: str) -> Position:
    """``topic:partition:offset`` (topic names cannot hold a colon); raises ``ValueError``."""
    topic, _, rest = text.strip().rpartition(":")
    topic, _, partition = topic.rpartition(":")
    if not topic or not partition.isdigit() or not rest.isdigit():
        raise ValueError(f"{text!r} is not topic:partition:offset, e.g. flarewatch.mentions.raw:2:17")
    return (topic, int(partition), int(rest))


def parse_since(text: str, now: datetime) -> datetime:
    """An ISO date or time (UTC unless given), or an age such as ``90m``, ``2h``, ``3d``;
    raises ``ValueError`` with a one-line message."""
    age = _DURATION.match(text.strip().lower())
    if age:
        return now - timedelta(**{_UNITS[age.group(2)]: int(age.group(1))})
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time like 2026-11-19, 2026-11-19T14:00 or an age like 90m, 2h, 3d"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Selection:
    """Which dead letters a command works on; every given criterion must hold."""

    since: datetime | None = None
    reason: str | None = None
    """A substring of the reason, case-insensitive."""
    stage: str | None = None
    positions: frozenset[Position] = frozenset()
    """Empty: any position."""

    def matches(self, letter: DeadLetter) -> bool:
        return (
            (self.since is None or letter.failed_at >= self.since)
            and (self.reason is None or self.reason.lower() in letter.reason.lower())
            and (self.stage is None or letter.stage == self.stage)
            and (not self.positions or position(letter) in self.positions)
        )


def select(letters: Iterable[DeadLetter], chosen: Selection) -> list[DeadLetter]:
    """The letters ``chosen`` describes, oldest failure first."""
    kept = [letter for letter in letters if chosen.matches(letter)]
    return sorted(kept, key=lambda letter: (letter.failed_at, position(letter)))


@dataclass(frozen=True, slots=True)
class Reading:
    letters: list[DeadLetter]
    """The chosen letters, oldest failure first; one per original message (a failure redelivered
    is dead-lettered again under the same key: the last one read is kept)."""
    total: int
    """Original messages the topic holds letters for, chosen or not."""
    unreadable: list[str] = field(default_factory=list)
    """``partition:offset: reason`` of records in the dead-letter topic that are not dead letters."""
    complete: bool = True
    """False when the time limit passed before every partition was read to its end."""


def read_dead_letters(kafka: KafkaSettings, chosen: Selection, timeout_s: float = 60) -> Reading:
    """The ``chosen`` dead letters, read from the beginning of the topic (only those are kept in
    memory). Blocks until each partition is read up to the high watermark that fetch responses
    report, or ``timeout_s`` passes; raises :class:`DeadLetterError` when the broker fails."""
    topic = Topics(kafka.topic_prefix).dead_letters
    try:
        consumer = KafkaConsumer(
            **kafka_python_config(kafka),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            allow_auto_create_topics=False,
            fetch_max_wait_ms=100,
            bootstrap_timeout_ms=CONNECT_TIMEOUT_MS,
        )
    except KafkaError as exc:
        raise DeadLetterError(f"cannot reach the broker at {kafka.bootstrap_servers}: {exc}") from exc
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        if not partitions:
            return Reading([], 0)
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        return _drain(consumer, partitions, chosen, time.monotonic() + timeout_s)
    except KafkaError as exc:
        raise DeadLetterError(f"reading {topic} failed: {exc}") from exc
    finally:
        consumer.close()


def _drain(
    consumer: KafkaConsumer, partitions: list[TopicPartition], chosen: Selection, deadline: float
) -> Reading:
    found: dict[Position, DeadLetter] = {}
    seen: set[Position] = set()
    unreadable: list[str] = []
    while not (complete := _at_end(consumer, partitions)) and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            for record in records:
                letter = decode(
                    DeadLetter, record.value, record.partition, record.offset, MAX_DEAD_LETTER_BYTES
                )
                if isinstance(letter, Invalid):
                    unreadable.append(f"{record.partition}:{record.offset}: {letter.reason}")
                    continue
                seen.add(position(letter))
                if chosen.matches(letter):
                    found[position(letter)] = letter
    return Reading(select(found.values(), chosen), len(seen), unreadable, complete)


def _at_end(consumer: KafkaConsumer, partitions: list[TopicPartition]) -> bool:
    """Every partition fetched at least once and consumed up to its fetch high watermark."""
    for tp in partitions:
        high = consumer.highwater(tp)
        if high is None or consumer.position(tp) < high:
            return False
    return True


@dataclass(frozen=True, slots=True)
class Send:
    """One original message to re-publish."""

    topic: str
    key: bytes | None
    value: bytes
    letter: DeadLetter


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    sends: list[Send]
    refused: list[tuple[DeadLetter, str]]
    """Letters whose original cannot be rebuilt from the letter, each with the reason."""
    other_topics: list[DeadLetter]
    """Failed on a topic other than the raw one and not allowed by the caller."""


def plan_replay(letters: Sequence[DeadLetter], topics: Topics, other_topics: bool = False) -> ReplayPlan:
    """What a replay sends: each original, with its key, back to the topic it was read from; raw
    mentions always, letters from the worker's other topics only when ``other_topics``."""
    allowed = set(topics.all()) - {topics.dead_letters} if other_topics else {topics.raw}
    plan = ReplayPlan([], [], [])
    for letter in letters:
        if letter.topic not in allowed:
            plan.other_topics.append(letter)
        elif letter.value_truncated:
            plan.refused.append((letter, _truncated(letter)))
        else:
            try:
                key, value = original(letter)
            except ValueError:
                plan.refused.append((letter, "its key_b64 or value_b64 is not valid base64"))
                continue
            plan.sends.append(Send(letter.topic, key, value, letter))
    return plan


def _truncated(letter: DeadLetter) -> str:
    t, p, o = position(letter)
    return (
        f"only the start of its {letter.value_size:,} bytes was kept; the whole message is in {t} "
        f"at partition {p}, offset {o}, for as long as that topic retains it"
    )


def original(letter: DeadLetter) -> tuple[bytes | None, bytes]:
    """The original key and value; raises ``ValueError`` when they are not valid base64."""
    key = base64.b64decode(letter.key_b64, validate=True) if letter.key_b64 is not None else None
    return key, base64.b64decode(letter.value_b64, validate=True)


def publish(kafka: KafkaSettings, sends: Sequence[Send], timeout_s: float = 30) -> int:
    """Sends every original with its key and waits for the broker to acknowledge each (acks=all).
    Raises :class:`DeadLetterError` on the first failure; returns how many were sent."""
    try:
        producer = KafkaProducer(
            **kafka_python_config(kafka),
            acks="all",
            max_request_size=4 << 20,
            bootstrap_timeout_ms=CONNECT_TIMEOUT_MS,
        )
    except KafkaError as exc:
        raise DeadLetterError(f"cannot reach the broker at {kafka.bootstrap_servers}: {exc}") from exc
    try:
        futures = [producer.send(s.topic, key=s.key, value=s.value) for s in sends]
        producer.flush(timeout=timeout_s)
        for future in futures:
            future.get(timeout=timeout_s)
    except KafkaError as exc:
        raise DeadLetterError(f"re-publishing failed: {exc}") from exc
    finally:
        producer.close(timeout=timeout_s)
    return len(sends)
