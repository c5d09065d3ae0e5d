"""Metric names, declared once. Counters live in the worker process and are served at /metrics."""

from __future__ import annotations

from collections import Counter
from enum import StrEnum


class Metric(StrEnum):
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
    DETECTOR_EVENTS = "flarewatch_detector_events_total"
    ALERTS_FIRED = "flarewatch_alerts_fired_total"
    ALERTS = "flarewatch_alerts_indexed_total"
    SCORE_SECONDS = "flarewatch_score_seconds_total"


HELP: dict[Metric, str] = {
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
    Metric.NEGATIVE: "Mentions scored negative (the detector's input).",
    Metric.DETECTOR_EVENTS: "Negative mentions the spike detector has processed.",
    Metric.ALERTS_FIRED: "Spike alerts fired by the detector.",
    Metric.ALERTS: "Spike alerts indexed.",
    Metric.SCORE_SECONDS: "Seconds spent in the scorer.",
}


class Counters:
    def __init__(self) -> None:
        self.values: Counter[Metric] = Counter()

    def add(self, metric: Metric, amount: float = 1) -> None:
        self.values[metric] += amount  # type: ignore[assignment]

    def prometheus(self) -> str:
        lines = []
        for metric in Metric:
            lines += [
                f"# HELP {metric.value} {HELP[metric]}",
                f"# TYPE {metric.value} counter",
                f"{metric.value} {self.values[metric]:g}",
            ]
        return "\n".join(lines) + "\n"

    def snapshot(self) -> dict[str, float]:
        return {m.value: float(self.values[m]) for m in Metric}
