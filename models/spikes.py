"""Complaint-spike statistics: negative mentions per event-time window against a trailing baseline.

Pure logic with JSON-friendly state, so a stream processor can keep one state per brand in a
changelogged table. Windows are aligned to the Unix epoch; time is the mention's own time, so a
replay of last week fires the alerts last week would have fired.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class SpikeRule:
    window_seconds: int = 3600
    baseline_windows: int = 24
    """Trailing windows that form the baseline (the current window excluded)."""
    min_history: int = 24
    """Windows of history needed before the first alert (no alerts while learning). A day of
    hourly windows, so the baseline has seen a night and a day."""
    z: float = 3.5
    min_count: int = 8
    """A window never alerts below this many negative mentions."""
    min_ratio: float = 2.0
    """...nor below this multiple of the baseline mean."""
    late_windows: int = 3
    """Mentions this many windows behind the newest one still count; older ones are ignored.
    Live streams are late by seconds; a replay consumed from many partitions can be hours late."""
    max_ids_per_window: int = 5000
    """Ids remembered per window to ignore redelivered mentions (memory bound)."""
    samples: int = 5


@dataclass(frozen=True, slots=True)
class Spike:
    window_start: datetime
    window_end: datetime
    observed: int
    baseline_mean: float
    baseline_std: float
    threshold: float
    score: float
    top_categories: dict[str, int]
    sample_ids: tuple[str, ...]


@dataclass(slots=True)
class _Window:
    count: int = 0
    ids: set[str] = field(default_factory=set)
    categories: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)


@dataclass(slots=True)
class BrandSpikes:
    """One brand's windows. ``observe`` returns a :class:`Spike` the first time a window crosses
    its threshold, and None otherwise (including for repeated or too-late mentions)."""

    rule: SpikeRule
    windows: dict[int, _Window] = field(default_factory=dict)
    first_window: int | None = None
    alerted: set[int] = field(default_factory=set)

    def observe(self, mention_id: str, at: datetime, category: str | None) -> Spike | None:
        start = self.window_of(at)
        newest = max(self.windows, default=start)
        if start < newest - self.rule.late_windows * self.rule.window_seconds:
            return None
        if self.first_window is None or start < self.first_window:
            self.first_window = start
        window = self.windows.setdefault(start, _Window())
        if mention_id in window.ids:
            return None
        if len(window.ids) < self.rule.max_ids_per_window:
            window.ids.add(mention_id)
        window.count += 1
        window.categories[category or "no_complaint"] += 1
        if len(window.samples) < self.rule.samples:
            window.samples.append(mention_id)
        self._prune(max(newest, start))
        return self._check(start, window)

    def window_of(self, at: datetime) -> int:
        seconds = int(at.timestamp())
        return seconds - seconds % self.rule.window_seconds

    def history(self, start: int) -> list[int]:
        """Counts of the trailing windows before ``start`` since the first one seen (gaps are 0)."""
        size = self.rule.window_seconds
        assert self.first_window is not None
        first = max(self.first_window, start - self.rule.baseline_windows * size)
        return [self.windows[w].count if w in self.windows else 0 for w in range(first, start, size)]

    def _check(self, start: int, window: _Window) -> Spike | None:
        if start in self.alerted:
            return None
        history = self.history(start)
        if len(history) < self.rule.min_history:
            return None
        mean, std = baseline(history)
        limit = threshold(self.rule, mean, std)
        if window.count < limit:
            return None
        self.alerted.add(start)
        spread = max(std, math.sqrt(mean), 1.0)
        return Spike(
            window_start=datetime.fromtimestamp(start, UTC),
            window_end=datetime.fromtimestamp(start, UTC) + timedelta(seconds=self.rule.window_seconds),
            observed=window.count,
            baseline_mean=mean,
            baseline_std=std,
            threshold=limit,
            score=(window.count - mean) / spread,
            top_categories=dict(window.categories.most_common(3)),
            sample_ids=tuple(window.samples),
        )

    def _prune(self, newest: int) -> None:
        keep_from = newest - (self.rule.baseline_windows + 1) * self.rule.window_seconds
        for start in [w for w in self.windows if w < keep_from]:
            del self.windows[start]
        self.alerted = {w for w in self.alerted if w >= keep_from}
        for start, window in self.windows.items():
            if start < newest - self.rule.late_windows * self.rule.window_seconds:
                window.ids.clear()  # too late to be counted again anyway

    def to_json(self) -> dict[str, Any]:
        return {
            "first_window": self.first_window,
            "alerted": sorted(self.alerted),
            "windows": {
                str(start): {
                    "count": w.count,
                    "ids": sorted(w.ids),
                    "categories": dict(w.categories),
                    "samples": w.samples,
                }
                for start, w in self.windows.items()
            },
        }

    @classmethod
    def from_json(cls, rule: SpikeRule, data: dict[str, Any] | None) -> BrandSpikes:
        state = cls(rule)
        if not data:
            return state
        state.first_window = data.get("first_window")
        state.alerted = set(data.get("alerted", []))
        for start, w in data.get("windows", {}).items():
            state.windows[int(start)] = _Window(
                count=int(w["count"]),
                ids=set(w["ids"]),
                categories=Counter(w["categories"]),
                samples=list(w["samples"]),
            )
        return state


def baseline(history: list[int]) -> tuple[float, float]:
    if not history:
        return 0.0, 0.0
    return statistics.fmean(history), statistics.pstdev(history)


def threshold(rule: SpikeRule, mean: float, std: float) -> float:
    """Counts at or above this alert. The spread is at least sqrt(mean) (Poisson) and 1, so a
    flat, quiet baseline does not turn every small bump into an alert."""
    spread = max(std, math.sqrt(mean), 1.0)
    return max(float(rule.min_count), mean + rule.z * spread, rule.min_ratio * mean)
