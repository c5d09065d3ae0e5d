"""The Faust application: thin agents around the pure steps.

raw mentions --score--> scored mentions --index--> Elasticsearch (mentions, threads)
                                        --detect (per brand)--> alerts --alerts--> Elasticsearch
anything undecodable or rejected --> dead letters

Every agent finishes a batch (delivery to Kafka or acknowledgement by Elasticsearch) before it
asks for the next one, which is when Faust acknowledges the batch for commit (at least once).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import faust
from elasticsearch import AsyncElasticsearch

from models.scorer import Scorer
from models.spikes import BrandSpikes
from streams.config.settings import Settings
from streams.contracts.codec import Invalid, decode, encode
from streams.contracts.records import Alert, DeadLetter, ScoredMention
from streams.kafka.clients import faust_broker_url, faust_credentials
from streams.kafka.dead_letters import DlqGuard, DlqLimit, TooManyInvalid, dead_letter
from streams.kafka.topics import Topics
from streams.search.client import async_client, layout
from streams.search.documents import alert_summary
from streams.search.indexer import Indexer
from streams.search.sink import BulkWriter
from streams.worker.messages import Incoming
from streams.worker.metrics import Counters, Metric
from streams.worker.steps.detect import alert_from, spike_rule
from streams.worker.steps.score import ScoreStep

log = logging.getLogger("flarewatch.worker")


class Pipeline:
    def __init__(self, settings: Settings, scorer_factory: Callable[[], Scorer]) -> None:
        self.settings = settings
        self.scorer_factory = scorer_factory
        self.counters = Counters()
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
        self.raw = self._topic(names.raw)
        self.scored = self._topic(names.scored)
        self.alerts = self._topic(names.alerts)
        self.dead_letters = self._topic(names.dead_letters)
        self.spikes = self.app.Table("spike-windows", default=dict, partitions=k.partitions)
        self.app.agent(self.raw, name="score")(self.score)
        self.app.agent(self.scored, name="index")(self.index)
        self.app.agent(self.scored, name="detect")(self.detect)
        self.app.agent(self.alerts, name="alerts")(self.index_alerts)
        self._register_pages()
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

    # -- agents ---------------------------------------------------------------------------

    async def score(self, stream: Any) -> None:
        loop = asyncio.get_running_loop()
        scorer = await loop.run_in_executor(self.executor, self.scorer_factory)
        w = self.settings.worker
        step = ScoreStep(scorer, frozenset(b.name for b in self.settings.brands), w.max_message_bytes)
        guard = DlqGuard(
            DlqLimit(w.dlq_max_invalid_ratio, w.dlq_window, w.dlq_min_messages, w.dlq_max_consecutive)
        )
        log.info("scoring agent ready with model %s", scorer.model_id)
        async for events in stream.take_events(w.score_batch, within=w.score_batch_timeout_s):
            batch = [Incoming.of(e) for e in events]
            out = await loop.run_in_executor(self.executor, step.run, batch)
            await self._deliver(
                [await self.scored.send(key=s.mention.partition_key, value=encode(s)) for s in out.scored]
            )
            await self._dead_letters(out.dead)
            self._count_scoring(len(batch), out.unscored, len(out.scored), out.seconds, out.scored)
            try:
                for valid in out.valid:
                    guard.record(valid)
            except TooManyInvalid as exc:
                await self._stop_worker(exc)

    async def index(self, stream: Any) -> None:
        w = self.settings.worker
        indexer = self._indexer()
        async for events in stream.take_events(w.index_batch, within=w.index_batch_timeout_s):
            started = time.monotonic()
            messages = [Incoming.of(e) for e in events]
            batch, sources = [], {}
            for message in messages:
                record = decode(ScoredMention, message.value, message.partition, message.offset)
                if isinstance(record, Invalid):
                    await self._dead_letters(
                        [
                            (
                                message,
                                dead_letter(record, "index", message.topic, message.key, message.value),
                            )
                        ]
                    )
                    continue
                batch.append(record)
                sources[record.mention.mention_id] = message
            rejected = await indexer.mentions(batch)
            thread_rejected = await indexer.threads(batch)
            for r in rejected:
                message = sources[r.action.id]
                invalid = Invalid(
                    f"rejected by Elasticsearch ({r.status}): {r.reason}",
                    message.partition,
                    message.offset,
                )
                await self._dead_letters(
                    [
                        (
                            message,
                            dead_letter(invalid, "index", message.topic, message.key, message.value),
                        )
                    ]
                )
            for r in thread_rejected:
                log.error("thread %s rejected by Elasticsearch (%d): %s", r.action.id, r.status, r.reason)
            self.counters.add(Metric.INDEXED, len(batch) - len(rejected))
            self.counters.add(Metric.THREADS_UPDATED, len({s.mention.thread_key for s in batch}))
            self.counters.add(Metric.INDEX_REJECTED, len(rejected) + len(thread_rejected))
            log.info(
                "index batch=%d rejected=%d ms=%.0f",
                len(batch),
                len(rejected),
                1000 * (time.monotonic() - started),
            )

    async def detect(self, stream: Any) -> None:
        async for value in stream.filter(_negative).group_by(_brand, name="brand"):
            scored = decode(ScoredMention, value)
            if isinstance(scored, Invalid):
                continue  # the index agent dead-letters it
            m = scored.mention
            state = BrandSpikes.from_json(self.rule, self.spikes[m.brand])
            spike = state.observe(m.mention_id, m.created_at, scored.scores.category)
            self.spikes[m.brand] = state.to_json()
            self.counters.add(Metric.DETECTOR_EVENTS)
            if spike is not None:
                self.counters.add(Metric.ALERTS_FIRED)
                alert = alert_from(m.brand, spike)
                await self._deliver([await self.alerts.send(key=m.brand.encode(), value=encode(alert))])

    async def index_alerts(self, stream: Any) -> None:
        indexer = self._indexer()
        async for value in stream:
            alert = decode(Alert, value)
            if isinstance(alert, Invalid):
                log.error("undecodable alert skipped: %s", alert.reason)
                continue
            await indexer.alert(alert)
            self.counters.add(Metric.ALERTS)
            log.warning("ALERT %s", alert_summary(alert))

    # -- helpers --------------------------------------------------------------------------

    def _indexer(self) -> Indexer:
        writer = BulkWriter(self.search, on_retry=lambda: self.counters.add(Metric.INDEX_RETRIES))
        return Indexer(self.search, layout(self.settings.elasticsearch), writer)

    async def _deliver(self, futures: list[Any]) -> None:
        """Wait until Kafka has acknowledged what this batch produced."""
        if futures:
            await asyncio.gather(*futures)

    async def _dead_letters(self, dead: list[tuple[Incoming, DeadLetter]]) -> None:
        futures = [await self.dead_letters.send(key=m.dlq_key, value=encode(d)) for m, d in dead]
        await self._deliver(futures)
        self.counters.add(Metric.DEAD_LETTERS, len(dead))
        for message, letter in dead:
            log.warning(
                "dead letter %s:%d:%d %s",
                message.topic,
                message.partition,
                message.offset,
                letter.reason,
            )

    def _count_scoring(
        self,
        received: int,
        unscored: int,
        scored: int,
        seconds: float,
        records: list[ScoredMention],
    ) -> None:
        c = self.counters
        c.add(Metric.RECEIVED, received)
        c.add(Metric.INVALID, received - scored)
        c.add(Metric.SCORED, scored - unscored)
        c.add(Metric.UNSCORED, unscored)
        c.add(Metric.COMPLAINTS, sum(1 for s in records if s.scores.complaint))
        c.add(
            Metric.NEGATIVE,
            sum(1 for s in records if s.scores.sentiment == "negative" and not s.mention.from_brand),
        )
        c.add(Metric.SCORE_SECONDS, seconds)
        log.info(
            "score batch=%d invalid=%d unscored=%d ms=%.0f",
            received,
            received - scored,
            unscored,
            1000 * seconds,
        )

    async def _stop_worker(self, exc: BaseException) -> None:
        log.critical("%s", exc)
        self.fatal = exc
        await self.app.crash(exc)

    async def _close(self, app: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        if self._search is not None:
            await self._search.close()
            self._search = None
        self.executor.shutdown(wait=False)

    def _register_pages(self) -> None:
        # Faust binds a page function to its view, passing the view as the first argument:
        # plain closures, not bound methods.
        async def metrics(view: Any, request: Any) -> Any:
            return view.text(self.counters.prometheus(), content_type="text/plain")

        async def health(view: Any, request: Any) -> Any:
            status = 503 if self.fatal else 200
            return view.json({"status": "failed" if self.fatal else "ok"}, status=status)

        self.app.page("/metrics")(metrics)
        self.app.page("/health")(health)


def _negative(value: bytes) -> bool:
    """Customer mentions scored negative: the detector's input (the brand's own posts are not).
    A plain JSON look, not a full validation: this runs on every scored mention, and the
    detector validates what passes."""
    try:
        record = json.loads(value)
        return bool(record["scores"]["sentiment"] == "negative" and not record["mention"]["from_brand"])
    except (ValueError, TypeError, KeyError):
        return False  # the index agent dead-letters it


def _brand(value: bytes) -> bytes:
    try:
        return str(json.loads(value)["mention"]["brand"]).encode()
    except (ValueError, TypeError, KeyError):
        return b""
