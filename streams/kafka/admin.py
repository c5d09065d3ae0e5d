"""Topic administration with kafka-python: create what is missing, report what differs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from streams.config.kafka import KafkaSettings
from streams.kafka.clients import kafka_python_config
from streams.kafka.topics import Topics


@dataclass(frozen=True, slots=True)
class TopicReport:
    created: list[str]
    existing: dict[str, int]
    """Topics that were already there, with their partition counts."""


def ensure_topics(
    kafka: KafkaSettings, log: Callable[[str], None] = lambda _: None, timeout_s: float = 30.0
) -> TopicReport:
    """Create the pipeline's topics if missing. Safe to run again; never deletes or shrinks."""
    admin = KafkaAdminClient(
        client_id="flarewatch-admin",
        request_timeout_ms=int(timeout_s * 1000),
        **kafka_python_config(kafka),
    )
    try:
        topics = Topics(kafka.topic_prefix).all()
        present = set(admin.list_topics())
        created: list[str] = []
        for name in topics:
            if name in present:
                continue
            try:
                admin.create_topics([NewTopic(name, kafka.partitions, kafka.replication_factor)])
                created.append(name)
            except TopicAlreadyExistsError:
                pass
        remaining = [t for t in topics if t not in created]
        described = admin.describe_topics(remaining) if remaining else []
        existing = {str(t["name"]): len(t["partitions"]) for t in described}
        for name, count in existing.items():
            if count != kafka.partitions:
                log(f"topic {name} has {count} partitions, settings ask for {kafka.partitions}; left as is")
        return TopicReport(created, existing)
    finally:
        admin.close()


def cluster_id(kafka: KafkaSettings, timeout_s: float = 30.0) -> str:
    admin = KafkaAdminClient(
        client_id="flarewatch-admin",
        request_timeout_ms=int(timeout_s * 1000),
        **kafka_python_config(kafka),
    )
    try:
        return str(admin.describe_cluster()["cluster_id"])
    finally:
        admin.close()
