"""A source's :class:`~streams.collectors.source.Stats` and context for tests: it records what the
source reported and every sleep (never really sleeping), at a fixed clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from streams.collectors.source import SourceContext


@dataclass
class RecordingStats:
    clock: datetime
    fetched_counts: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    newest_at: list[datetime] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def fetched(self, count: int) -> None:
        self.fetched_counts.append(count)

    def error(self, kind: str) -> None:
        self.errors.append(kind)

    def rate_limited(self, seconds: float) -> None:
        self.waits.append(seconds)

    def newest(self, at: datetime) -> None:
        self.newest_at.append(at)

    def context(self) -> SourceContext:
        return SourceContext(stats=self, sleep=self.sleeps.append, now=lambda: self.clock, timeout_s=5.0)
