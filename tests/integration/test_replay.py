"""The replay collector over the real broker: a re-run sends nothing twice, a changed file is
sent again, and every line keeps its brand-and-thread key."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

from streams.collectors.replay import Replay
from streams.config.settings import Settings
from streams.contracts.codec import decode
from streams.contracts.records import RawMention
from streams.devstack.demo import SAMPLE
from streams.kafka.admin import cluster_id, ensure_topics
from streams.kafka.clients import kafka_python_config
from streams.kafka.topics import Topics

pytestmark = pytest.mark.integration


def expected_key(line: bytes) -> bytes | None:
    mention = decode(RawMention, line)
    return mention.partition_key if isinstance(mention, RawMention) else None


def topic_keys(settings: Settings, topic: str, expected: int, timeout_s: float = 60) -> list[bytes | None]:
    """Every key in the topic: read until ``expected`` arrived, then a little longer for extras."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka.servers, group_id=None, enable_auto_commit=False
    )
    partitions = [TopicPartition(topic, p) for p in range(settings.kafka.partitions)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    keys: list[bytes | None] = []
    deadline = time.monotonic() + timeout_s
    quiet_until = None
    while time.monotonic() < deadline:
        batch = consumer.poll(timeout_ms=500)
        keys += [r.key for records in batch.values() for r in records]
        if len(keys) >= expected:
            quiet_until = quiet_until or time.monotonic() + 3
            if time.monotonic() > quiet_until:
                break
    consumer.close()
    return keys


def test_rerun_sends_nothing_twice(settings: Settings, tmp_path: Path) -> None:
    source = tmp_path / "mentions.jsonl"
    source.write_bytes(b"\n".join(SAMPLE.read_bytes().splitlines()[:40]) + b"\n")
    checkpoint = tmp_path / "checkpoint.json"
    ensure_topics(settings.kafka)
    topic = Topics(settings.kafka.topic_prefix).raw
    cluster = cluster_id(settings.kafka)

    def run() -> tuple[int, int]:
        replay = Replay(kafka_python_config(settings.kafka), topic, cluster, progress=False)
        try:
            report = replay.run(source, checkpoint)
        finally:
            replay.close()
        return report.sent, report.skipped

    assert run() == (40, 0)
    assert run() == (0, 40)
    keys = topic_keys(settings, topic, 40)
    assert Counter(keys) == Counter(expected_key(line) for line in source.read_bytes().splitlines())

    with source.open("ab") as fh:  # a different file (new digest): sent as a whole again
        fh.write(SAMPLE.read_bytes().splitlines()[40] + b"\n")
    assert run() == (41, 0)
    assert len(topic_keys(settings, topic, 81)) == 81
