"""The detector's knobs. The defaults are what the evaluation measures (unseen series run with
them), so they are chosen on :func:`models.detection.synthetic.tuning_set`, not left to callers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Severity = Literal["watch", "warning", "critical"]
"""Same literal as ``streams.contracts.incidents.Severity`` (``models`` may not import ``streams``)."""
SEVERITIES: tuple[Severity, ...] = ("watch", "warning", "critical")
_DAY = 86_400


@dataclass(frozen=True, slots=True)
class Threshold:
    """One severity's bar. Reached when the score and the ratio over the baseline are both at
    least these; or, with ``growth`` set, one level early: when the level below is reached and the
    count grew by ``growth`` times over the last ``growth_buckets`` buckets."""

    score: float
    """Robust z: (Anscombe(count) - Anscombe(expected)) / spread."""
    ratio: float
    """count / expected."""
    growth: float | None = None


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Every field defaulted; :meth:`__post_init__` raises ``ValueError`` on a bad combination."""

    bucket_seconds: int = 300
    """Bucket width, up to a day. The hour-of-week profile is exact when it divides an hour, or is
    whole hours that divide a week; otherwise buckets are filed under the hour they start in."""
    min_count: float = 8.0
    """Nothing fires below this count (a quiet brand's 0 -> 3 is not a crisis)."""
    warmup_hours: float = 168.0
    """Time since the first data (at least half of it observed) before the detector may fire;
    until then ``warming_up``. A week: the hour-of-week profile needs one."""
    watch: Threshold = Threshold(score=4.5, ratio=1.8)
    warning: Threshold = Threshold(score=7.0, ratio=3.0, growth=4.0)
    critical: Threshold = Threshold(score=12.0, ratio=6.0, growth=8.0)
    growth_buckets: int = 3
    resolve_score: float = 2.0
    """A flaring bucket below this score is calm; ..."""
    resolve_minutes: float = 30.0
    """... the flare ends once the count stayed calm this long (gaps do not count)."""
    cooldown_minutes: float = 60.0
    """After an end, only a ``warning`` or worse starts a new flare for this long."""
    history_days: int = 28
    """Hourly means kept for the baseline (a whole number of weeks)."""
    level_half_life_hours: float = 6.0
    """How fast the baseline's level follows the data (a holiday, a level shift)."""
    flare_half_life_hours: float = 24.0
    """The same while flaring (input capped at twice the baseline): a lasting shift is accepted."""
    spread_half_life_hours: float = 48.0
    """How fast the spread estimate forgets."""
    winsorise: float = 4.0
    """Residuals are clipped at this many spreads before they enter the spread or the history."""

    def __post_init__(self) -> None:
        if not 0 < self.bucket_seconds <= _DAY:
            raise ValueError(f"bucket_seconds={self.bucket_seconds}: must be 1 s to a day")
        if self.history_days < 7 or self.history_days % 7:
            raise ValueError(f"history_days={self.history_days}: must be a positive multiple of 7")
        if self.growth_buckets < 1:
            raise ValueError(f"growth_buckets={self.growth_buckets}: must be at least 1")
        for name in ("min_count", "resolve_score", "winsorise", *_HALF_LIVES):
            _check(name, getattr(self, name), positive=True)
        for name in ("warmup_hours", "resolve_minutes", "cooldown_minutes"):
            _check(name, getattr(self, name), positive=False)
        self._check_levels()

    def _check_levels(self) -> None:
        for name, level in zip(SEVERITIES, self.levels(), strict=True):
            if not (level.score > 0 and level.ratio >= 1):
                raise ValueError(f"{name}: score must be > 0 and ratio >= 1, got {level}")
            if level.growth is not None and not level.growth > 1:
                raise ValueError(f"{name}: growth must be > 1 or None, got {level.growth}")
        for i in (1, 2):
            low, high = self.levels()[i - 1], self.levels()[i]
            if high.score < low.score or high.ratio < low.ratio:
                raise ValueError(f"{SEVERITIES[i]} must not be below {SEVERITIES[i - 1]} (score and ratio)")
        if self.resolve_score > self.watch.score:
            raise ValueError(
                f"resolve_score={self.resolve_score} must not exceed watch.score={self.watch.score}"
            )

    def levels(self) -> tuple[Threshold, Threshold, Threshold]:
        return (self.watch, self.warning, self.critical)


_HALF_LIVES = ("level_half_life_hours", "flare_half_life_hours", "spread_half_life_hours")


def _check(name: str, value: float, positive: bool) -> None:
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError(f"{name}={value}: must be {'a positive number' if positive else 'zero or more'}")
