"""A series detector with the interface of ``models.detection.SeriesDetector`` and rules simple
enough to reason about in tests: a bucket at or above ``threshold`` flares (``watch``), at or above
twice that it is ``critical``; the first bucket below ends the flare. Every call is recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from streams.contracts.incidents import Severity


@dataclass(frozen=True, slots=True)
class FakeVerdict:
    bucket_start: int
    value: float | None
    expected: float
    score: float
    state: Literal["warming_up", "gap", "normal", "flaring"]
    event: Literal["started", "escalated", "ended"] | None
    severity: Severity | None
    flare_start: int | None
    peak: float


@dataclass
class Calls:
    """What every fake series was fed, in order: (series id, bucket, value)."""

    fed: list[tuple[str, int, float | None]] = field(default_factory=list)

    def of(self, series: str) -> list[tuple[int, float | None]]:
        return [(b, v) for s, b, v in self.fed if s == series]


class FakeSeries:
    def __init__(self, state: dict[str, Any] | None, calls: Calls, threshold: float = 5.0) -> None:
        s = state or {}
        self.id: str = s.get("id") or f"s{len({c[0] for c in calls.fed})}-{id(self)}"
        self.last: int | None = s.get("last")
        self.severity: Severity | None = s.get("severity")
        self.start: int | None = s.get("start")
        self.peak: float = s.get("peak", 0.0)
        self.calls = calls
        self.threshold = threshold

    @property
    def last_bucket(self) -> int | None:
        return self.last

    def observe(self, bucket_start: int, value: float | None) -> FakeVerdict:
        if self.last is not None and bucket_start <= self.last:
            raise ValueError(f"bucket {bucket_start} fed after {self.last}")
        self.calls.fed.append((self.id, bucket_start, value))
        self.last = bucket_start
        if value is None:
            return self._verdict(bucket_start, value, "gap", None)
        if value < self.threshold:
            ended = self.severity is not None
            verdict = self._verdict(bucket_start, value, "normal", "ended" if ended else None)
            self.severity, self.start, self.peak = None, None, 0.0
            return verdict
        severity: Severity = "critical" if value >= 2 * self.threshold else "watch"
        event: Literal["started", "escalated"] | None = None
        if self.severity is None:
            event, self.start = "started", bucket_start
        elif severity == "critical" and self.severity != "critical":
            event = "escalated"
        self.severity = "critical" if "critical" in (severity, self.severity) else severity
        self.peak = max(self.peak, value)
        return self._verdict(bucket_start, value, "flaring", event)

    def _verdict(
        self,
        bucket: int,
        value: float | None,
        state: Literal["warming_up", "gap", "normal", "flaring"],
        event: Literal["started", "escalated", "ended"] | None,
    ) -> FakeVerdict:
        return FakeVerdict(
            bucket, value, 1.0, (value or 1.0) - 1.0, state, event, self.severity, self.start, self.peak
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "last": self.last,
            "severity": self.severity,
            "start": self.start,
            "peak": self.peak,
        }
