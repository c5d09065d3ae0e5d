"""The Faust application: thin agents around the pure steps.

raw mentions --score--> scored mentions --index--> Elasticsearch (mentions, threads)
                                        --detect (by brand)--> flare signals --+
                          incident commands (flarewatch incidents ack) --------+--incidents (by brand)-->
    Elasticsearch (incident versions) and incident events --notify-<name> (one per notifier)-->
    webhook / Slack / PagerDuty / e-mail, a delivery record per version and notifier
anything undecodable or rejected --> dead letters

Tables (in-memory, restored from their changelog topics on start and rebalance):
``detector-buckets`` (brand|bucket -> counts), ``detector-series`` (brand|category -> detector
state), ``detector-progress`` (partition -> last offset and watermark; partition|brands) and
``incidents`` (brand -> the brand's open and recent incidents). A notifier that is slow or down
holds up only its own agent.

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
from streams.contracts.codec import encode
from streams.contracts.incidents import Delivery
from streams.contracts.sla import SlaEvent
from streams.kafka.clients import faust_broker_url, faust_credentials
from streams.kafka.dead_letters import DlqLimit
from streams.kafka.topics import Topics
from streams.notify.deliver import Deliverer, build_deliverers
from streams.notify.store import SearchDeliveryStore
from streams.search.client import async_client, layout
from streams.search.indexer import Indexer
from streams.search.layout import Layout
from streams.search.sink import BulkWriter
from streams.search.sweep import ThreadSweeper
from streams.worker import pages
from streams.worker.agents import Context, DetectAgent, IndexAgent, RemovalsAgent, ScoreAgent
from streams.worker.health import Health
from streams.worker.messages import Incoming
from streams.worker.metrics import Counters, Metric, Tally
from streams.worker.redelivery import Finished, guard_offsets
from streams.worker.steps.detect import DetectRules, DetectStep, Series, detector_key
from streams.worker.steps.index import IndexStep
from streams.worker.steps.removals import RemovalsStep
from streams.worker.steps.score import ScoreStep, TextScorer

log = logging.getLogger("flarewatch.worker")
BUCKETS, SERIES, PROGRESS, INCIDENTS = "detector-buckets", "detector-series", "detector-progress", "incidents"
TABLES = (BUCKETS, SERIES, PROGRESS, INCIDENTS)


def detect_rules(settings: Settings) -> DetectRules:
    d = settings.detector
    return DetectRules(
        bucket_seconds=d.bucket_minutes * 60,
        lateness_seconds=d.allowed_lateness_minutes * 60,
        reach_weighting=d.reach_weighting,
        measure=d.measure,
    )


class Pipeline:
    def __init__(self, settings: Settings, scorer_factory: Callable[[], TextScorer]) -> None:
        self.settings = settings
        self.scorer_factory = scorer_factory
        self.counters = Counters()
        self.health = Health(settings, self.counters, models={"score"})
        self.fatal: BaseException | None = None
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scorer")
        self._search: AsyncElasticsearch | None = None
        k, w = settings.kafka, settings.worker
        self.app = _App(
            k.group_id,
            broker=faust_broker_url(k),
            broker_credentials=faust_credentials(k),
            store="memory://",
            processing_guarantee="at_least_once",
            topic_partitions=k.partitions,
            topic_replication_factor=k.replication_factor,
            table_standby_replicas=w.standby_replicas,
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
        self.app.fetch_max_wait_ms = k.fetch_max_wait_ms
        names = Topics(k.topic_prefix)
        self.topics = {name: self._topic(name) for name in names.all()}
        self.raw, self.scored = self.topics[names.raw], self.topics[names.scored]
        self.dead_letters = self.topics[names.dead_letters]
        limit = DlqLimit(w.dlq_max_invalid_ratio, w.dlq_window, w.dlq_min_messages, w.dlq_max_consecutive)
        self.context = Context(self, names, self.counters, limit, self._stop_worker)
        self.finished = Finished()
        self.tables = {name: self._table(name) for name in TABLES}
        self.app.agent(self.raw, name="score")(self.health.watch("score", self.score))
        self.app.agent(self.scored, name="index")(self.health.watch("index", self.index))
        self.app.agent(self.scored, name="detect")(self.health.watch("detect", self.detect))
        removals = self.topics[names.removals]
        self.app.agent(removals, name="removals")(self.health.watch("removals", self.removals))
        signals = self.app.topic(
            names.flares, names.incident_commands, key_serializer="raw", value_serializer="raw"
        )
        self.app.agent(signals, name="incidents")(self.health.watch("incidents", self.incidents))
        for deliverer in self._deliverers():  # reads the notifiers' secrets now: fails at start
            agent = f"notify-{deliverer.notifier.name}"
            loop = self._notify_loop(agent, deliverer)
            self.app.agent(self.topics[names.incidents], name=agent)(self.health.watch(agent, loop))
        self._sweeper: ThreadSweeper | None = None
        self.app.timer(settings.threads.sweep_interval_s, on_leader=True, name="sweep")(self.sweep)
        pages.register(self.app, self.health, self.counters, lambda: self.fatal)
        self.health.attach(self.app, lambda: self.search.ping(), self._stop_worker)
        self.app.on_before_shutdown.connect(self._close)
        self.app.on_fetch_hole = lambda: self.counters.add(Metric.FETCH_HOLES)

    def _topic(self, name: str) -> Any:
        return self.app.topic(
            name,
            key_serializer="raw",
            value_serializer="raw",
            partitions=self.settings.kafka.partitions,
        )

    def _table(self, name: str) -> Any:
        return self.app.Table(name, default=None, partitions=self.settings.kafka.partitions)

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
            batch = self.finished.fresh([Incoming.of(e) for e in events])
            if len(batch) < len(events):
                self.counters.add(Metric.REDELIVERIES_SKIPPED, len(events) - len(batch))
            if batch:
                await agent(batch)
                self.finished.finish(batch)
            self.health.progress("score", len(events))

    async def index(self, stream: Any) -> None:
        w = self.settings.worker
        agent = IndexAgent(self.context, IndexStep(self._indexer()))
        async for events in stream.take_events(w.index_batch, within=w.index_batch_timeout_s):
            await agent([Incoming.of(e) for e in events])
            self.health.progress("index", len(events))

    async def removals(self, stream: Any) -> None:
        """Deleted and hidden mentions, recorded on their documents."""
        w = self.settings.worker
        agent = RemovalsAgent(self.context, RemovalsStep(self._indexer()))
        async for events in stream.take_events(w.index_batch, within=w.index_batch_timeout_s):
            await agent([Incoming.of(e) for e in events])
            self.health.progress("removals", len(events))

    async def detect(self, stream: Any) -> None:
        """Customers' mentions, repartitioned by brand: one brand's buckets and detectors live in
        one partition of the tables. One event at a time: a table write goes to the changelog
        partition of the event being processed."""
        t = self.tables
        step = DetectStep(
            detect_rules(self.settings), self._series_factory(), t[BUCKETS], t[PROGRESS], t[SERIES]
        )
        agent = DetectAgent(self.context, step)
        by_brand = stream.filter(_detected).group_by(_brand_key, name="brand")
        async for event in by_brand.events():
            await agent([Incoming.of(event)])
            self.health.progress("detect", 1)

    async def incidents(self, stream: Any) -> None:
        """Flare signals and incident commands, both keyed by brand: one brand's incidents live in
        one partition of the ``incidents`` table."""
        from streams.worker.incident_agents import IncidentsAgent

        agent = IncidentsAgent(self.context, self._incidents_step(), self._indexer())
        async for event in stream.events():
            await agent([Incoming.of(event)])
            self.health.progress("incidents", 1)

    def _notify_loop(self, name: str, deliverer: Deliverer) -> Callable[[Any], Any]:
        """One notifier's agent: incident events in, one delivery record per version out. It
        waits out its notifier's retries, holding up no other agent."""

        async def notify(stream: Any) -> None:
            from streams.worker.incident_agents import NotifyAgent

            agent = NotifyAgent(self.context, deliverer)
            async for event in stream.events():
                await agent([Incoming.of(event)])
                self.health.progress(name, 1)

        return notify

    async def sweep(self) -> None:
        """On the leader, every ``threads.sweep_interval_s``: SLA alerts that fell due go to the
        notifiers (on the incidents topic, keyed by thread), quiet threads become stale. A failed
        sweep is logged and tried again at the next tick."""
        if self._sweeper is None:
            self._sweeper = ThreadSweeper(
                self.search, self.search_layout(), self.settings.sla_policy(), self._publish_alerts
            )
        try:
            await self._sweeper.sweep()
        except Exception as exc:
            log.warning("thread sweep failed (%s: %s); trying again next time", type(exc).__name__, exc)

    async def _publish_alerts(self, events: Sequence[SlaEvent]) -> None:
        messages = [(e.thread_key.encode(), encode(e)) for e in events]
        await self.publish(self.context.topics.incidents, messages)

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

    def _series_factory(self) -> Callable[[dict[str, Any] | None], Series]:
        from models.detection import SeriesDetector

        config = self.settings.detector.config()
        return lambda state: SeriesDetector(config, state)

    def _incidents_step(self) -> Any:
        from streams.search.incidents import Enricher
        from streams.worker.steps.incidents import IncidentsStep

        return IncidentsStep(
            self.tables[INCIDENTS], Enricher(self.search, self.search_layout()), self.settings
        )

    def _deliverers(self) -> list[Deliverer]:
        c = self.counters
        return build_deliverers(
            self.settings.notify,
            _DeliveryRecords(self),
            on_attempt=self._attempted,
            on_delivery=lambda d: c.tally(Tally.DELIVERIES, d.notifier, d.status),
        )

    def _attempted(self, notifier: str, outcome: str) -> None:
        """Counted; and an attempt is progress: a notifier agent waiting out a receiver that is
        down (retrying for up to the policy's limit) is not stalled."""
        self.counters.tally(Tally.NOTIFY_ATTEMPTS, notifier, outcome)
        self.health.progress(f"notify-{notifier}", 0)

    def search_layout(self) -> Layout:
        return layout(self.settings.elasticsearch)

    def _indexer(self) -> Indexer:
        writer = BulkWriter(self.search, on_retry=lambda: self.counters.add(Metric.INDEX_RETRIES))
        return Indexer(self.search, self.search_layout(), writer, self.settings.sla_policy())

    async def _stop_worker(self, exc: BaseException) -> None:
        log.critical("%s", exc)
        self.fatal = exc
        await self.app.crash(exc)

    async def _close(self, app: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        if self._search is not None:
            await self._search.close()
            self._search = None
        self.executor.shutdown(wait=False)


class _App(faust.App):
    """Faust's app, with its consumer guarded (:func:`~streams.worker.redelivery.guard_offsets`)
    from the moment it is made: before the fetcher starts and before the first rebalance; and
    with ``fetch_max_wait_ms`` (Faust hard-codes 1,500 ms) set on the aiokafka consumer its
    consumer thread makes, before that consumer starts its fetcher."""

    on_fetch_hole: Callable[[], None] = staticmethod(lambda: None)
    fetch_max_wait_ms: int | None = None

    def _new_consumer(self) -> Any:
        consumer = super()._new_consumer()
        guard_offsets(consumer, on_hole=lambda: self.on_fetch_hole())
        if self.fetch_max_wait_ms is not None:
            set_fetch_max_wait(consumer, self.fetch_max_wait_ms)
        return consumer


def set_fetch_max_wait(consumer: Any, wait_ms: int) -> None:
    """Make the aiokafka consumer that Faust's consumer thread creates wait at most ``wait_ms``
    on a fetch. aiokafka reads the value when the consumer starts (its fetcher is made then), so
    setting it on the new consumer, before ``start``, is enough. Relies on Faust 0.15's
    ``_thread._create_worker_consumer`` (``pyproject.toml`` pins Faust 0.15) and on the
    ``_fetch_max_wait_ms`` of the aiokafka it brings: ``tests/unit/test_worker_fetch_wait.py``
    fails if either changes."""
    thread = consumer._thread
    create = thread._create_worker_consumer

    def create_worker_consumer(transport: Any) -> Any:
        made = create(transport)
        made._fetch_max_wait_ms = wait_ms
        return made

    thread._create_worker_consumer = create_worker_consumer


class _DeliveryRecords:
    """The deliveries index, through the worker's search client (made when first used, in the
    event loop)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def _store(self) -> SearchDeliveryStore:
        return SearchDeliveryStore(self.pipeline.search, self.pipeline.search_layout().deliveries)

    async def get(self, delivery_id: str) -> Delivery | None:
        return await self._store().get(delivery_id)

    async def put(self, delivery: Delivery) -> None:
        await self._store().put(delivery)


def _detected(value: bytes | None) -> bool:
    return detector_key(value) is not None


def _brand_key(value: bytes | None) -> bytes:
    return detector_key(value) or b""
