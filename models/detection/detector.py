"""One series' online detector: a bucket in, a verdict out; its whole state is a small JSON dict.

Lifecycle of a flare:

- ``warming_up`` until ``warmup_hours`` went by since the first data, at least half of them with
  data, and the history gives a baseline; nothing fires;
- a bucket at or above ``min_count`` whose score and ratio reach ``watch`` (or worse) starts a
  flare (``started``); within ``cooldown_minutes`` of the last end, only ``warning`` or worse does;
- while flaring, the severity only goes up (``escalated`` each time it does), the peak is kept;
  a bucket under ``resolve_score`` is calm, any other resets the calm time; ``resolve_minutes``
  of calm ends the flare (``ended``, on a ``normal`` verdict that still names the flare's start,
  severity and peak). So a count flapping around the line gives one start and one end;
- a gap (``None``, or buckets skipped) is neither a zero nor calm: it leaves the baseline, the
  spread and the calm time alone, and data coming back is judged against the same baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from models.detection.baseline import Baseline, anscombe
from models.detection.config import SEVERITIES, DetectorConfig, Severity

State = Literal["warming_up", "gap", "normal", "flaring"]
Event = Literal["started", "escalated", "ended"]
_VERSION = 1


@dataclass(frozen=True, slots=True)
class BucketVerdict:
    bucket_start: int
    value: float | None
    expected: float
    """The baseline for this bucket (0.0 while there is none)."""
    score: float
    """Robust z on the Anscombe scale (0.0 without a baseline or for a gap)."""
    state: State
    event: Event | None
    severity: Severity | None
    """The flare's highest severity so far (also on its ``ended`` verdict), else None."""
    flare_start: int | None
    peak: float
    """The flare's highest count so far (also on its ``ended`` verdict), else 0.0."""


@dataclass(slots=True)
class _Flare:
    start: int
    level: int
    """1 watch, 2 warning, 3 critical."""
    peak: float
    calm: int = 0
    """Seconds of calm buckets in a row."""

    def to_json(self) -> list[Any]:
        return [self.start, self.level, self.peak, self.calm]


class SeriesDetector:
    """Feed :meth:`observe` buckets in increasing order; store :meth:`to_json` and build a new one
    from it to go on exactly where this one stopped. Pure computation: never blocks."""

    __slots__ = ("baseline", "config", "cooldown_until", "first", "flare", "last", "observed", "recent")

    def __init__(self, config: DetectorConfig, state: dict[str, Any] | None = None) -> None:
        self.config = config
        s = state or {}
        if s and s.get("v") != _VERSION:
            raise ValueError(f"detector state version {s.get('v')!r}, expected {_VERSION}")
        if s and s.get("bucket_seconds") != config.bucket_seconds:
            raise ValueError(
                f"detector state has bucket_seconds={s.get('bucket_seconds')}, config {config.bucket_seconds}"
            )
        self.last: int | None = s.get("last")
        self.observed: int = s.get("observed", 0)
        """Buckets with data so far."""
        self.first: int | None = s.get("first")
        """The first bucket with data."""
        self.recent: list[float | None] = list(s.get("recent", ()))
        flare = s.get("flare")
        self.flare = _Flare(*flare) if flare else None
        self.cooldown_until: int | None = s.get("cooldown_until")
        self.baseline = Baseline(config, s)

    @property
    def last_bucket(self) -> int | None:
        return self.last

    def to_json(self) -> dict[str, Any]:
        return {
            "v": _VERSION,
            "bucket_seconds": self.config.bucket_seconds,
            "last": self.last,
            "observed": self.observed,
            "first": self.first,
            "recent": list(self.recent),
            "flare": self.flare.to_json() if self.flare else None,
            "cooldown_until": self.cooldown_until,
            **self.baseline.to_json(),
        }

    def observe(self, bucket_start: int, value: float | None) -> BucketVerdict:
        """Judge one bucket. Raises ``ValueError`` for a bucket not after the last one, not on the
        bucket grid, or a negative or non-finite value (the state is then left as it was)."""
        b = self.config.bucket_seconds
        if bucket_start % b:
            raise ValueError(f"bucket {bucket_start} is not aligned to {b} s")
        if self.last is not None and bucket_start <= self.last:
            raise ValueError(f"bucket {bucket_start} fed after bucket {self.last}")
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise ValueError(f"bucket {bucket_start}: value {value} is not a count")
        skipped = 0 if self.last is None else (bucket_start - self.last) // b - 1
        for _ in range(min(skipped, self.config.growth_buckets)):
            self._remember(None)
        self.last = bucket_start
        self.baseline.advance(bucket_start)
        if value is None:
            self._remember(None)
            return self._verdict(bucket_start, None, 0.0, 0.0, "gap", None)
        return self._judge(bucket_start, value)

    def _judge(self, t: int, value: float) -> BucketVerdict:
        c = self.config
        profile = self.baseline.profile_at(t)
        expected = None if profile is None else profile * self.baseline.factor()
        sigma = 1.0 if expected is None else self.baseline.sigma(expected)
        score = 0.0 if expected is None else (anscombe(value) - anscombe(expected)) / sigma
        growth = self._growth(value)
        self._remember(value)
        self.first = t if self.first is None else self.first
        warm = expected is not None and self._warm(t)
        self.observed += 1
        if not warm:
            self.baseline.learn(value, profile, expected, sigma, False)
            return self._verdict(t, value, expected or 0.0, score, "warming_up", None)
        assert expected is not None
        level = self._level(value, score, value / max(expected, 0.01), growth)
        state, event = self._step(t, value, score, level)
        hot = self.flare is not None and score >= c.resolve_score
        self.baseline.learn(value, profile, expected, sigma, hot)
        verdict = self._verdict(t, value, expected, score, state, event)
        if event == "ended":
            self.flare = None
        return verdict

    def _warm(self, t: int) -> bool:
        """``warmup_hours`` since the first data, at least half of it with data."""
        warmup = self.config.warmup_hours * 3600
        seen = self.observed * self.config.bucket_seconds
        return self.first is not None and t - self.first >= warmup and 2 * seen >= warmup

    def _step(self, t: int, value: float, score: float, level: int) -> tuple[State, Event | None]:
        c, flare = self.config, self.flare
        if flare is None:
            cooling = self.cooldown_until is not None and t < self.cooldown_until
            if level >= (2 if cooling else 1):
                self.flare = _Flare(t, level, value)
                return "flaring", "started"
            return "normal", None
        flare.peak = max(flare.peak, value)
        flare.calm = flare.calm + c.bucket_seconds if score < c.resolve_score else 0
        if flare.calm >= c.resolve_minutes * 60:
            self.cooldown_until = t + round(c.cooldown_minutes * 60)
            return "normal", "ended"
        if level > flare.level:
            flare.level = level
            return "flaring", "escalated"
        return "flaring", None

    def _level(self, value: float, score: float, ratio: float, growth: float | None) -> int:
        """0 (nothing), 1 watch, 2 warning, 3 critical."""
        c = self.config
        if value < c.min_count:
            return 0
        levels = c.levels()
        level = 0
        for i, bar in enumerate(levels, start=1):
            if score >= bar.score and ratio >= bar.ratio:
                level = i
        for i, bar in enumerate(levels[1:], start=2):
            if bar.growth is not None and growth is not None and growth >= bar.growth and level >= i - 1:
                level = max(level, i)
        return level

    def _growth(self, value: float) -> float | None:
        k = self.config.growth_buckets
        before = self.recent[0] if len(self.recent) >= k else None
        return None if before is None else value / max(before, self.config.min_count)

    def _remember(self, value: float | None) -> None:
        self.recent.append(value)
        del self.recent[: -self.config.growth_buckets]

    def _verdict(
        self, t: int, value: float | None, expected: float, score: float, state: State, event: Event | None
    ) -> BucketVerdict:
        f = self.flare
        return BucketVerdict(
            bucket_start=t,
            value=value,
            expected=expected,
            score=score,
            state=state,
            event=event,
            severity=SEVERITIES[f.level - 1] if f else None,
            flare_start=f.start if f else None,
            peak=f.peak if f else 0.0,
        )
