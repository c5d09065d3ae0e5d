"""The Faust application: thin agents around the pure steps.

raw mentions --score--> scored mentions --index--> Elasticsearch (mentions, threads)
                                        --detect (per brand)--> alerts --alerts--> Elasticsearch
anything undecodable or rejected --> dead letters

Every agent finishes a batch (delivery to Kafka or acknowledgement by Elasticsearch) before it
asks for the next one, which is when Faust acknowledges the batch for commit (at least once).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import faust
from elasticsearch import AsyncElasticsearch

from streams.config.settings import Settings
from streams.kafka.clients import faust_broker_url, faust_credentials
from streams.kafka.dead_letters import DlqLimit
from streams.kafka.topics import Topics
from streams.search.client import async_client, layout
from streams.search.indexer import Indexer
from streams.search.sink import BulkWriter
from streams.worker import pages
from streams.worker.agents import AlertsAgent, Context, DetectAgent, IndexAgent, ScoreAgent
from streams.worker.health import Health
from streams.worker.messages import Incoming
from streams.worker.metrics import Counters, Metric
from streams.worker.steps.alerts import AlertsStep
from streams.worker.steps.detect import DetectStep, detector_key, spike_rule
from streams.worker.steps.index import IndexStep
from streams.worker.steps.score import ScoreStep, TextScorer

log = logging.getLogger("flarewatch.worker")


class Pipeline:
    def __init__(self, settings: Settings, scorer_factory: Callable[[], TextScorer]) -> None:
        self.settings = settings
        self.scorer_factory = scorer_factory
        self.counters = Counters()
        self.health = Health(settings, self.counters, models={"score"})
        self.fatal: BaseException | None = None
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scorer")
        self.rule = spike_rule(settings.detector)
        self._search: AsyncElasticsearch | None = None
        k, w = settings.kafka, settings.worker
        self.app = faust.App(
            k.group_id,
            broker=faust_broker_url(k),
            broker_credentials=faust_credentials(k),
            store="memory://",
            processing_guarantee="at_least_once",
            topic_partitions=k.partitions,
            topic_replication_factor=k.replication_factor,
            broker_session_timeout=k.session_timeout_s,
            broker_heartbeat_interval=k.heartbeat_interval_s,
            producer_linger=k.linger_ms / 1000,
            producer_max_batch_size=k.producer_batch_bytes,
            consumer_auto_offset_reset="earliest",
            web_enabled=True,
            web_bind=w.web_bind,
            web_port=w.web_port,
            datadir=str(w.data_dir),
            autodiscover=False,
            logging_config=None,
        )
        names = Topics(k.topic_prefix)
        self.topics = {name: self._topic(name) for name in names.all()}
        self.raw, self.scored = self.topics[names.raw], self.topics[names.scored]
        self.alerts, self.dead_letters = self.topics[names.alerts], self.topics[names.dead_letters]
        limit = DlqLimit(w.dlq_max_invalid_ratio, w.dlq_window, w.dlq_min_messages, w.dlq_max_consecutive)
        self.context = Context(self, names, self.counters, limit, self._stop_worker)
        self.spikes = self.app.Table("spike-windows", default=dict, partitions=k.partitions)
        self.app.agent(self.raw, name="score")(self.health.watch("score", self.score))
        self.app.agent(self.scored, name="index")(self.health.watch("index", self.index))
        self.app.agent(self.scored, name="detect")(self.health.watch("detect", self.detect))
        self.app.agent(self.alerts, name="alerts")(self.health.watch("alerts", self.index_alerts))
        pages.register(self.app, self.health, self.counters, lambda: self.fatal)
        self.health.attach(self.app, lambda: self.search.ping(), self._stop_worker)
        self.app.on_before_shutdown.connect(self._close)

    def _topic(self, name: str) -> Any:
        return self.app.topic(
            name,
            key_serializer="raw",
            value_serializer="raw",
            partitions=self.settings.kafka.partitions,
        )

    @property
    def search(self) -> AsyncElasticsearch:
        if self._search is None:
            self._search = async_client(self.settings.elasticsearch)
        return self._search

    # -- agents: thin loops; what they do with a batch is in streams.worker.agents -----------

    async def score(self, stream: Any) -> None:
        loop = asyncio.get_running_loop()
        scorer = await loop.run_in_executor(self.executor, self.scorer_factory)
        w = self.settings.worker
        step = ScoreStep(scorer, frozenset(b.name for b in self.settings.brands), w.max_message_bytes)
        agent = ScoreAgent(self.context, step, self.executor)
        log.info("scoring agent ready with model %s", scorer.model_id)
        self.health.model_loaded("score")
        async for events in stream.take_events(w.score_batch, within=w.score_batch_timeout_s):
            await agent([Incoming.of(e) for e in events])
            self.health.progress("score", len(events))

    async def index(self, stream: Any) -> None:
        w = self.settings.worker
        agent = IndexAgent(self.context, IndexStep(self._indexer()))
        async for events in stream.take_events(w.index_batch, within=w.index_batch_timeout_s):
            await agent([Incoming.of(e) for e in events])
            self.health.progress("index", len(events))

    async def detect(self, stream: Any) -> None:
        """Customers' negative mentions, repartitioned by brand: one brand's spike windows live
        in one partition of the table."""
        agent = DetectAgent(self.context, DetectStep(self.rule, self.spikes))
        by_brand = stream.filter(_detected).group_by(_brand_key, name="brand")
        async for event in by_brand.events():
            await agent([Incoming.of(event)])
            self.health.progress("detect", 1)

    async def index_alerts(self, stream: Any) -> None:
        agent = AlertsAgent(self.context, AlertsStep(self._indexer()))
        async for event in stream.events():
            await agent([Incoming.of(event)])
            self.health.progress("alerts", 1)

    # -- helpers --------------------------------------------------------------------------

    async def publish(
        self,
        topic: str,
        messages: Sequence[tuple[bytes | None, bytes]],
        timestamps: Sequence[float | None] = (),
    ) -> None:
        """The agents' :class:`~streams.worker.agents.Outbox`: returns once Kafka acknowledged
        every message."""
        channel = self.topics[topic]
        stamps = list(timestamps) or [None] * len(messages)
        futures = [
            await channel.send(key=key, value=value, timestamp=stamp)
            for (key, value), stamp in zip(messages, stamps, strict=True)
        ]
        if futures:
            await asyncio.gather(*futures)

    def _indexer(self) -> Indexer:
        writer = BulkWriter(self.search, on_retry=lambda: self.counters.add(Metric.INDEX_RETRIES))
        return Indexer(self.search, layout(self.settings.elasticsearch), writer)

    async def _stop_worker(self, exc: BaseException) -> None:
        log.critical("%s", exc)
        self.fatal = exc
        await self.app.crash(exc)

    async def _close(self, app: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        if self._search is not None:
            await self._search.close()
            self._search = None
        self.executor.shutdown(wait=False)


def _detected(value: bytes | None) -> bool:
    return detector_key(value) is not None


def _brand_key(value: bytes | None) -> bytes:
    return detector_key(value) or b""
