"""The collectors' Kafka publisher on the real broker: keyed by thread, acknowledged, and read
back from recorded offsets to finish a batch that was in flight at a crash."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from kafka import KafkaConsumer

from streams.collectors.checkpoints import CheckpointStore, InFlight, SourceState
from streams.collectors.filters import MentionFilter
from streams.collectors.publish import KafkaPublisher
from streams.collectors.runner import Collector
from streams.config.settings import Settings
from streams.kafka.admin import ensure_topics
from streams.kafka.clients import kafka_python_config
from streams.kafka.topics import Topics
from tests.factories import mention
from tests.unit.test_collect_runner import Pages


def topic_records(settings: Settings) -> list[tuple[bytes, str]]:
    consumer = KafkaConsumer(
        Topics(settings.kafka.topic_prefix).raw,
        group_id=None,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
        **kafka_python_config(settings.kafka),
    )
    try:
        return [(r.key, json.loads(r.value)["native_id"]) for r in consumer]
    finally:
        consumer.close()


def test_published_mentions_are_keyed_by_thread_and_read_back_from_offsets(settings: Settings) -> None:
    ensure_topics(settings.kafka)
    publisher = KafkaPublisher(settings.kafka)
    try:
        first = [mention(n, text="zakupowo", thread_id=f"post{n % 3}") for n in range(10)]
        publisher.send(first)
        assert {m.mention_id for m in first} <= publisher.published_ids({})
        offsets = publisher.end_offsets()
        second = [mention(n, text="zakupowo") for n in range(10, 15)]
        publisher.send(second)
        again = publisher.published_ids(offsets)
        assert {m.mention_id for m in second} <= again
    finally:
        publisher.close()
    records = topic_records(settings)
    by_id = {m.native_id: m for m in first + second}
    assert sorted(native for _, native in records) == sorted(by_id)
    assert all(key == by_id[native].partition_key for key, native in records)


def test_a_batch_in_flight_at_a_crash_reaches_the_topic_once(settings: Settings, tmp_path: Path) -> None:
    ensure_topics(settings.kafka)
    store = CheckpointStore(tmp_path / "state")
    batch = [mention(n, text="zakupowo") for n in range(6)]
    publisher = KafkaPublisher(settings.kafka)
    try:
        offsets = publisher.end_offsets()
        publisher.send(batch[:4])  # the crash came after the broker took four of six
        store.save("fake-zakupowo", SourceState(None, InFlight({"page": 1}, tuple(batch), offsets)))
        source = Pages([batch, [mention(6, text="zakupowo")]])
        report = Collector(publisher, store, MentionFilter(settings.brands)).poll(source)
    finally:
        publisher.close()
    assert report.recovered == 2 and source.started_from == [{"page": 1}]
    counts = Counter(native for _, native in topic_records(settings))
    assert counts == Counter(f"c{n}" for n in range(7))
