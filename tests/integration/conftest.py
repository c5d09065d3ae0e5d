"""Real servers for integration tests: embedded Tansu + noida-db, or an external Kafka and
Elasticsearch when KAFKA_BOOTSTRAP_SERVERS and ELASTICSEARCH_URL are set."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from streams.config.settings import Settings, load_settings
from streams.contracts.codec import decode
from streams.contracts.limits import MAX_DEAD_LETTER_BYTES
from streams.contracts.records import DeadLetter, RawMention
from streams.devstack.children import Child
from streams.devstack.demo import start_worker, write_config
from streams.devstack.embedded import EmbeddedServers, free_port
from streams.kafka.topics import Topics
from tests.fakes.worker import start as start_fake


@dataclass(frozen=True)
class Servers:
    bootstrap: str
    search_url: str
    embedded: bool


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    bootstrap, url = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("ELASTICSEARCH_URL")
    if bootstrap and url:
        yield Servers(bootstrap, url, embedded=False)
        return
    embedded = EmbeddedServers(tmp_path_factory.mktemp("servers")).start()
    try:
        yield Servers(embedded.bootstrap, embedded.search_url, embedded=True)
    finally:
        embedded.stop()


@pytest.fixture()
def settings(servers: Servers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Fresh topic/index prefixes and consumer group for every test."""
    monkeypatch.chdir(tmp_path)
    run = uuid.uuid4().hex[:8]
    return load_settings(
        None,
        kafka={
            "bootstrap_servers": servers.bootstrap,
            "topic_prefix": f"it-{run}",
            "partitions": 3,
            "group_id": f"it-{run}",
            "session_timeout_s": 6,
            "heartbeat_interval_s": 1,
        },
        elasticsearch={"url": servers.search_url, "index_prefix": f"it-{run}"},
        worker={
            "web_port": free_port(),
            "data_dir": str(tmp_path / "worker"),
            "score_batch": 32,
            "index_batch": 100,
            "dlq_min_messages": 1000,
        },
        brands=[
            {"name": "zakupowo", "terms": ["zakupowo"]},
            {"name": "kosarka", "terms": ["kosarka"]},
        ],
    )


@pytest.fixture()
def own_search(tmp_path: Path) -> Iterator[EmbeddedServers]:
    """A search server of the test's own, so it can be stopped and started."""
    search = EmbeddedServers(tmp_path / "own-search").start_search_only()
    try:
        yield search
    finally:
        search.stop()


@dataclass
class Harness:
    settings: Settings
    folder: Path
    workers: list[Child]
    started: int = 0

    @property
    def topics(self) -> Topics:
        return Topics(self.settings.kafka.topic_prefix)

    def start_worker(self) -> Child:
        config = write_config(self.settings, self.folder / "flarewatch.yaml")
        (self.folder / "logs").mkdir(exist_ok=True)
        child = start_worker(config, self.folder)
        self.workers.append(child)
        return child

    def start_fake_worker(self, delay_file: Path | None = None, real_model: bool = False) -> Child:
        """The real worker with the fixed scorer (tests/fakes/worker.py): tests the plumbing
        without the model. ``delay_file`` holds extra seconds each scoring batch takes. Each
        worker started has a config file and a log of its own (``flarewatch.yaml`` and
        ``logs/worker.log``, then ``flarewatch-2.yaml`` and ``logs/worker-2.log``, ...)."""
        n = self.started = self.started + 1
        suffix = "" if n == 1 else f"-{n}"
        config = write_config(self.settings, self.folder / f"flarewatch{suffix}.yaml")
        log_name = f"worker{suffix}.log"
        child = start_fake(config, self.folder, delay_file, real_model, log_name)
        self.workers.append(child)
        return child

    def produce(self, values: list[tuple[bytes | None, bytes]]) -> None:
        producer = KafkaProducer(
            bootstrap_servers=self.settings.kafka.servers, acks="all", max_request_size=4 << 20
        )
        for key, value in values:
            producer.send(self.topics.raw, key=key, value=value)
        producer.flush()
        producer.close()

    def produce_mentions(self, mentions: list[RawMention]) -> None:
        self.produce([(m.partition_key, m.model_dump_json().encode()) for m in mentions])

    def search(self) -> Elasticsearch:
        return Elasticsearch(self.settings.elasticsearch.url)

    def dead_letters(self, expected: int, timeout_s: float = 120) -> list[DeadLetter]:
        consumer = KafkaConsumer(
            bootstrap_servers=self.settings.kafka.servers,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        partitions = [
            TopicPartition(self.topics.dead_letters, p) for p in range(self.settings.kafka.partitions)
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        found: dict[bytes, DeadLetter] = {}
        deadline = time.monotonic() + timeout_s
        while len(found) < expected and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=1000).values():
                for record in records:
                    letter = decode(DeadLetter, record.value, max_bytes=MAX_DEAD_LETTER_BYTES)
                    assert isinstance(letter, DeadLetter), letter
                    found[record.key] = letter
        consumer.close()
        return list(found.values())

    def stop_all(self) -> None:
        for child in self.workers:
            child.stop(signal.SIGTERM, timeout=30)


@contextlib.contextmanager
def running(settings: Settings, folder: Path) -> Iterator[Harness]:
    """Topics and indices for ``settings``; every worker started through it is stopped at the
    end, and the log of one that failed is printed."""
    from streams.cli.worker import prepare

    prepare(settings)
    h = Harness(settings, folder, [])
    try:
        yield h
    finally:
        h.stop_all()
        for child in h.workers:
            if child.process.returncode not in (0, -15, None):
                print(f"worker log {child.log_path}:\n{child.why(40)}")


@pytest.fixture()
def harness(settings: Settings, tmp_path: Path) -> Iterator[Harness]:
    with running(settings, tmp_path) as h:
        yield h


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str, child: Child | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        if child is not None and not child.alive():
            raise AssertionError(f"worker died while waiting for {what}:\n{child.why(40)}")
        time.sleep(0.5)
    raise AssertionError(
        f"timed out after {timeout_s}s waiting for {what}"
        + (f"\nworker log:\n{child.why(40)}" if child else "")
    )
