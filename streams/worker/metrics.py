"""Metric names, declared once, and the worker's Prometheus registry served at /metrics.

Every worker process owns one :class:`Counters`: its own ``CollectorRegistry`` (never the
library's global one), holding the counters below, the timing histograms, the health gauges the
watchdog sets, and the process, platform and garbage-collector metrics ``prometheus-client``
gives for free.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client import Counter as PromCounter
from prometheus_client import Gauge as PromGauge
from prometheus_client import Histogram as PromHistogram

from streams.worker.stall import Partition


class Metric(StrEnum):
    """Counters, without labels."""

    RECEIVED = "flarewatch_mentions_received_total"
    INVALID = "flarewatch_mentions_invalid_total"
    SCORED = "flarewatch_mentions_scored_total"
    UNSCORED = "flarewatch_mentions_unscored_total"
    COMPLAINTS = "flarewatch_complaints_total"
    INDEXED = "flarewatch_mentions_indexed_total"
    THREADS_UPDATED = "flarewatch_threads_updated_total"
    INDEX_REJECTED = "flarewatch_index_rejected_total"
    INDEX_RETRIES = "flarewatch_index_retries_total"
    DEAD_LETTERS = "flarewatch_dead_letters_total"
    NEGATIVE = "flarewatch_negative_total"
    CUSTOMER = "flarewatch_customer_mentions_total"
    DETECTOR_EVENTS = "flarewatch_detector_events_total"
    DETECTOR_LATE = "flarewatch_detector_late_mentions_total"
    DETECTOR_REDELIVERIES = "flarewatch_detector_redeliveries_total"
    REDELIVERIES_SKIPPED = "flarewatch_redeliveries_skipped_total"
    FETCH_HOLES = "flarewatch_fetch_holes_total"
    SCORE_SECONDS = "flarewatch_score_seconds_total"


class Tally(StrEnum):
    """Counters with labels (:data:`LABELS` names them)."""

    FLARE_SIGNALS = "flarewatch_flare_signals_total"
    INCIDENT_EVENTS = "flarewatch_incident_events_total"
    NOTIFY_ATTEMPTS = "flarewatch_notify_attempts_total"
    DELIVERIES = "flarewatch_deliveries_total"


LABELS: dict[Tally, tuple[str, ...]] = {
    Tally.FLARE_SIGNALS: ("kind",),
    Tally.INCIDENT_EVENTS: ("type",),
    Tally.NOTIFY_ATTEMPTS: ("notifier", "outcome"),
    Tally.DELIVERIES: ("notifier", "status"),
}


class Timing(StrEnum):
    """Histograms, in seconds."""

    SCORE_BATCH = "flarewatch_score_batch_seconds"
    INDEX_BULK = "flarewatch_index_bulk_seconds"
    CREATED_TO_INDEXED = "flarewatch_created_to_indexed_seconds"
    PUBLISHED_TO_INDEXED = "flarewatch_published_to_indexed_seconds"


class Watch(StrEnum):
    """What the health watchdog exports; labelled by agent, or by topic and partition."""

    CONSUMER_LAG = "flarewatch_consumer_lag_messages"
    AGENT_LAG = "flarewatch_agent_lag_messages"
    LAST_PROGRESS = "flarewatch_agent_last_progress_timestamp_seconds"
    AGENT_MESSAGES = "flarewatch_agent_messages_total"
    AGENT_CRASHES = "flarewatch_agent_crashes_total"
    HEALTHY = "flarewatch_worker_healthy"
    READY = "flarewatch_worker_ready"


HELP: dict[str, str] = {
    Metric.RECEIVED: "Raw mention messages taken from the raw topic.",
    Metric.INVALID: "Raw messages that could not be decoded or validated.",
    Metric.SCORED: "Mentions scored by the model.",
    Metric.UNSCORED: "Mentions returned unscored (unsupported language, no words).",
    Metric.COMPLAINTS: "Mentions scored as complaints.",
    Metric.INDEXED: "Scored mentions acknowledged by Elasticsearch.",
    Metric.THREADS_UPDATED: "Thread documents written.",
    Metric.INDEX_REJECTED: "Documents Elasticsearch rejected for good (sent to dead letters).",
    Metric.INDEX_RETRIES: "Bulk requests retried after 429, 5xx or an unavailable server.",
    Metric.DEAD_LETTERS: "Records written to the dead-letter topic.",
    Metric.NEGATIVE: "Customers' mentions scored negative.",
    Metric.CUSTOMER: "Customers' mentions scored or returned unscored (the detector's input).",
    Metric.DETECTOR_EVENTS: "Customers' mentions the detector counted into their bucket.",
    Metric.DETECTOR_LATE: "Mentions that came after their bucket had closed (not counted).",
    Metric.DETECTOR_REDELIVERIES: "Mentions the detector had already counted (redelivered, skipped).",
    Metric.REDELIVERIES_SKIPPED: (
        "Raw messages handed to the scoring agent again after it had scored them (skipped)."
    ),
    Metric.FETCH_HOLES: (
        "Times the fetcher handed over a record after a hole and its partition was read again from"
        " the hole (records Faust dropped around a rebalance or seek; none is lost)."
    ),
    Tally.FLARE_SIGNALS: "Flare signals the detector published, by kind (started, escalated, grown, ended).",
    Tally.INCIDENT_EVENTS: "Incident versions published, by event type.",
    Tally.NOTIFY_ATTEMPTS: "Attempts to deliver an incident version, by notifier and outcome.",
    Tally.DELIVERIES: "Incident versions finished per notifier, by status (delivered, failed, muted).",
    Metric.SCORE_SECONDS: "Seconds spent in the scorer.",
    Timing.SCORE_BATCH: "Seconds the scorer took per batch.",
    Timing.INDEX_BULK: "Seconds per index batch: bulk writes of mentions and threads, retries included.",
    Timing.CREATED_TO_INDEXED: "From a mention's created_at to its acknowledgement by Elasticsearch.",
    Timing.PUBLISHED_TO_INDEXED: (
        "From the raw message's publish (its Kafka timestamp, carried on to the scored message) "
        "to its acknowledgement."
    ),
    Watch.CONSUMER_LAG: "Messages between the committed offset and the fetch high watermark.",
    Watch.AGENT_LAG: "Messages waiting on an agent's input topics (the sum of their consumer lag).",
    Watch.LAST_PROGRESS: "Unix time an agent last finished a batch (or started waiting for input).",
    Watch.AGENT_MESSAGES: "Messages an agent has finished.",
    Watch.AGENT_CRASHES: "Exceptions that escaped an agent (each one fails /health).",
    Watch.HEALTHY: "1 while /health answers ok: no agent died or stalled.",
    Watch.READY: "1 while /health/ready answers ok: broker, search server and model ready.",
}

_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_END_TO_END = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 6 * 3600.0, 86400.0)
BUCKETS: dict[Timing, tuple[float, ...]] = {
    Timing.SCORE_BATCH: _FAST,
    Timing.INDEX_BULK: _FAST,
    Timing.CREATED_TO_INDEXED: _END_TO_END,
    Timing.PUBLISHED_TO_INDEXED: _END_TO_END,
}
"""Upper bounds; mentions can be hours old when collected, so end-to-end buckets reach a day."""
Labelled = dict[tuple[str, ...], float]


class Counters:
    """The worker's metrics. Calls are cheap and thread-safe; none blocks on I/O."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self._counters = {m: PromCounter(m.value, HELP[m], registry=r) for m in Metric}
        self._tallies = {t: PromCounter(t.value, HELP[t], LABELS[t], registry=r) for t in Tally}
        self._timings = {t: PromHistogram(t.value, HELP[t], buckets=BUCKETS[t], registry=r) for t in Timing}
        self._lag = PromGauge(
            Watch.CONSUMER_LAG, HELP[Watch.CONSUMER_LAG], ("topic", "partition"), registry=r
        )
        self._agent_lag = PromGauge(Watch.AGENT_LAG, HELP[Watch.AGENT_LAG], ("agent",), registry=r)
        self._progress = PromGauge(Watch.LAST_PROGRESS, HELP[Watch.LAST_PROGRESS], ("agent",), registry=r)
        self._messages = PromCounter(Watch.AGENT_MESSAGES, HELP[Watch.AGENT_MESSAGES], ("agent",), registry=r)
        self._crashes = PromCounter(Watch.AGENT_CRASHES, HELP[Watch.AGENT_CRASHES], ("agent",), registry=r)
        self._healthy = PromGauge(Watch.HEALTHY, HELP[Watch.HEALTHY], registry=r)
        self._ready = PromGauge(Watch.READY, HELP[Watch.READY], registry=r)
        self._lag_labels: set[tuple[str, ...]] = set()
        self._agent_lag_labels: set[tuple[str, ...]] = set()
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)

    def add(self, metric: Metric, amount: float = 1) -> None:
        self._counters[metric].inc(amount)

    def tally(self, tally: Tally, *labels: str, amount: float = 1) -> None:
        """Count ``amount`` under ``labels``, given in the order :data:`LABELS` names them."""
        self._tallies[tally].labels(*labels).inc(amount)

    def tallies(self, tally: Tally) -> dict[tuple[str, ...], float]:
        """A labelled counter's values by label values (only those counted at least once)."""
        return {
            tuple(s.labels[name] for name in LABELS[tally]): s.value
            for family in self._tallies[tally].collect()
            for s in family.samples
            if s.name == tally.value
        }

    def observe(self, timing: Timing, seconds: Iterable[float]) -> None:
        histogram = self._timings[timing]
        for value in seconds:
            histogram.observe(max(0.0, value))

    def progress(self, agent: str, at: float, messages: int) -> None:
        self._progress.labels(agent).set(at)
        self._messages.labels(agent).inc(messages)

    def crashed(self, agent: str) -> None:
        self._crashes.labels(agent).inc()

    def lags(self, partitions: Mapping[Partition, int], agents: Mapping[str, int | None]) -> None:
        """Sets the lag gauges; partitions no longer assigned and agent lags not known are dropped."""
        by_partition: Labelled = {(topic, str(p)): float(lag) for (topic, p), lag in partitions.items()}
        self._lag_labels = _replace(self._lag, self._lag_labels, by_partition)
        by_agent: Labelled = {(agent,): float(lag) for agent, lag in agents.items() if lag is not None}
        self._agent_lag_labels = _replace(self._agent_lag, self._agent_lag_labels, by_agent)

    def state(self, healthy: bool, ready: bool) -> None:
        self._healthy.set(1 if healthy else 0)
        self._ready.set(1 if ready else 0)

    def snapshot(self) -> dict[str, float]:
        """The unlabelled counters by name."""
        return {m.value: self.registry.get_sample_value(m.value) or 0.0 for m in Metric}

    def exposition(self) -> tuple[bytes, str]:
        """The text /metrics serves, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _replace(gauge: PromGauge, old: set[tuple[str, ...]], values: Labelled) -> set[tuple[str, ...]]:
    """Sets one labelled gauge to exactly ``values``; returns the label sets now present."""
    for labels in old - values.keys():
        gauge.remove(*labels)
    for labels, value in values.items():
        gauge.labels(*labels).set(value)
    return set(values)
