"""Per-source collector metrics on a Prometheus ``/metrics`` page. Labels are source names and
bounded reason codes: never a token, a URL with a query, or an item id."""

from __future__ import annotations

import time
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge

from streams.collectors.source import utc_now


class CollectorMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.fetched = Counter(
            "flarewatch_collector_fetched",
            "Items the platform returned, before filtering.",
            ["source"],
            registry=r,
        )
        self.published = Counter(
            "flarewatch_collector_published", "Mentions the broker acknowledged.", ["source"], registry=r
        )
        self.filtered = Counter(
            "flarewatch_collector_filtered",
            "Mentions dropped before publishing, by reason (rule, language, author, spam...).",
            ["source", "reason"],
            registry=r,
        )
        self.flagged = Counter(
            "flarewatch_collector_flagged",
            "Mentions published with a noise flag.",
            ["source", "flag"],
            registry=r,
        )
        self.duplicates = Counter(
            "flarewatch_collector_duplicates",
            "Copies of an earlier mention (reposts, campaigns).",
            ["source"],
            registry=r,
        )
        self.removals = Counter(
            "flarewatch_collector_removals", "Deleted or hidden items recorded.", ["source"], registry=r
        )
        self.errors = Counter(
            "flarewatch_collector_errors",
            "Failed requests and polls, by kind.",
            ["source", "kind"],
            registry=r,
        )
        self.rate_limit_waits = Counter(
            "flarewatch_collector_rate_limit_waits",
            "Waits because of a platform rate limit.",
            ["source"],
            registry=r,
        )
        self.rate_limit_seconds = Counter(
            "flarewatch_collector_rate_limit_wait_seconds",
            "Seconds spent waiting for rate limits.",
            ["source"],
            registry=r,
        )
        self.lag = Gauge(
            "flarewatch_collector_lag_seconds",
            "Now minus the newest item's time, at the last poll.",
            ["source"],
            registry=r,
        )
        self.last_poll = Gauge(
            "flarewatch_collector_last_poll_timestamp_seconds",
            "When the last poll ended.",
            ["source"],
            registry=r,
        )
        self.stopped = Gauge(
            "flarewatch_collector_stopped",
            "1 when the source stopped and needs a person.",
            ["source"],
            registry=r,
        )

    def source(self, name: str) -> SourceStats:
        return SourceStats(self, name)


class SourceStats:
    """One source's :class:`~streams.collectors.source.Stats`."""

    def __init__(self, metrics: CollectorMetrics, name: str) -> None:
        self.metrics = metrics
        self.name = name
        self.newest_at: datetime | None = None
        self.fetched_count = 0

    def fetched(self, count: int) -> None:
        self.fetched_count += count
        self.metrics.fetched.labels(self.name).inc(count)

    def error(self, kind: str) -> None:
        self.metrics.errors.labels(self.name, kind).inc()

    def rate_limited(self, seconds: float) -> None:
        self.metrics.rate_limit_waits.labels(self.name).inc()
        self.metrics.rate_limit_seconds.labels(self.name).inc(max(0.0, seconds))

    def newest(self, at: datetime) -> None:
        if self.newest_at is None or at > self.newest_at:
            self.newest_at = at

    def poll_ended(self) -> None:
        self.metrics.last_poll.labels(self.name).set(time.time())
        if self.newest_at is not None:
            self.metrics.lag.labels(self.name).set(max(0.0, (utc_now() - self.newest_at).total_seconds()))
