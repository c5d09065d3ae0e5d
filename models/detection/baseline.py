"""A series' baseline: what a bucket should hold, and how far from it is still noise.

- History: the mean count per bucket of every hour (of every bucket, when buckets are an hour or
  longer) of the last ``history_days``, one byte each: ``round(20 * log1p(mean))`` (within 2.5 %,
  up to 330,000 a bucket; 255 for unknown), 674 bytes for 4 weeks, base64 in the JSON (900
  characters). An hour with less than half of its buckets observed is unknown (gaps never enter
  it); a flaring bucket enters as at most its expected count, any other at most ``winsorise``
  spreads above it: a spike does not inflate next week's baseline.
- Profile for an hour: the median of that hour-of-week and its two neighbours in each past week
  (up to 12 values: one spiky week, or one spiky hour, is outvoted); before a week of history, the
  same hours of the past 6 days. Between hours, linear interpolation (the daily cycle is smooth).
- Level: the profile times ``observed / profile``, both exponentially weighted over the last hours
  (half-life ``level_half_life_hours``), so a holiday or a level shift is followed within hours;
  while flaring it moves at the pace of ``flare_half_life_hours`` and sees at most twice the
  baseline, so a lasting shift ends its flare within a day or so. It starts afresh when the profile
  switches between past days and past weeks.
- Spread, on the Anscombe scale ``2 * sqrt(x + 3/8)`` where Poisson noise has variance 1:
  ``variance = 1 + phi * expected``, ``phi`` the overdispersion (plus the baseline's own relative
  error) estimated from the residuals of non-flaring buckets, winsorised and exponentially
  weighted; never below the Poisson floor (``phi >= 0``).
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from models.detection.config import DetectorConfig

_HOUR, _DAY, _WEEK = 3600, 86_400, 7 * 86_400
_STEPS = 20.0
"""History precision: steps per unit of ``log1p(mean)``."""
_UNKNOWN = 255


def anscombe(x: float) -> float:
    return 2.0 * math.sqrt(max(x, 0.0) + 0.375)


def inverse_anscombe(y: float) -> float:
    return max(0.0, (y / 2.0) ** 2 - 0.375)


@dataclass(frozen=True, slots=True)
class _Grid:
    """What a config implies, computed once per config."""

    bucket: int
    slot: int
    """Seconds per history entry: an hour, or a bucket when longer."""
    per_slot: int
    week: int
    day: int
    weeks: int
    size: int
    decay: float
    flare_decay: float
    flare_weight: float
    """Keeps the level's weight steady while flaring: a bucket counts as the half-lives say."""
    spread_decay: float


@lru_cache(maxsize=64)
def _grid(config: DetectorConfig) -> _Grid:
    b = config.bucket_seconds
    slot = max(_HOUR, b)
    decay = 0.5 ** (b / (config.level_half_life_hours * _HOUR))
    flare_decay = 0.5 ** (b / (config.flare_half_life_hours * _HOUR))
    weeks = config.history_days // 7
    return _Grid(
        bucket=b,
        slot=slot,
        per_slot=slot // b,
        week=_WEEK // slot,
        day=_DAY // slot,
        weeks=weeks,
        size=weeks * (_WEEK // slot) + 2,
        decay=decay,
        flare_decay=flare_decay,
        flare_weight=(1.0 - flare_decay) / (1.0 - decay),
        spread_decay=0.5 ** (b / (config.spread_half_life_hours * _HOUR)),
    )


def _median(values: list[int]) -> float:
    values.sort()
    n = len(values)
    mid = n // 2
    return values[mid] if n % 2 else (values[mid - 1] + values[mid]) / 2


class Baseline:
    """Mutable; fed by :class:`models.detection.SeriesDetector` in bucket order. ``to_json`` /
    constructing from it round-trip exactly. The history is decoded only when an hour closes."""

    __slots__ = ("_ring", "_text", "acc", "config", "grid", "level", "profile", "slot", "spread", "weekly")

    def __init__(self, config: DetectorConfig, state: dict[str, Any] | None = None) -> None:
        self.config = config
        self.grid = _grid(config)
        s = state or {}
        self._text: str | None = s.get("ring")
        """The history as stored (None: changed since, encode again)."""
        self._ring: bytearray | None = None
        """The history decoded (None: not needed yet)."""
        self.slot: int | None = s.get("slot")
        self.acc: list[float] = list(s.get("acc", (0.0, 0)))
        """This hour so far: sum and buckets observed."""
        self.profile: list[float | None] = list(s.get("profile", (None, None, None)))
        """The profile of the hours before, at and after this one."""
        self.weekly: bool = s.get("weekly", False)
        """Whether the profile comes from past weeks (else from past days)."""
        self.level: list[float] = list(s.get("level", (0.0, 0.0)))
        """Exponentially weighted: counts seen, profile."""
        self.spread: list[float] = list(s.get("spread", (0.0, 0.0, 0.0)))
        """Exponentially weighted: winsorised squared residuals, expected counts, weights."""

    def to_json(self) -> dict[str, Any]:
        if self._text is None and self._ring is not None:
            self._text = base64.b64encode(self._ring).decode("ascii")
        return {
            "ring": self._text,
            "slot": self.slot,
            "acc": list(self.acc),
            "profile": list(self.profile),
            "weekly": self.weekly,
            "level": list(self.level),
            "spread": list(self.spread),
        }

    def _history(self) -> bytearray:
        if self._ring is None:
            ring = base64.b64decode(self._text) if self._text else b""
            size = self.grid.size
            self._ring = bytearray(ring) if len(ring) == size else bytearray([_UNKNOWN]) * size
        return self._ring

    def advance(self, bucket_start: int) -> None:
        """Move to this bucket's hour: close the hours before (unknown when under half observed)
        and take the new hour's profile; on a switch between the daily and the weekly profile,
        start the level afresh."""
        g = self.grid
        slot = bucket_start // g.slot
        if slot == self.slot:
            return
        ring = self._history()
        self._text = None  # changed below: encode again
        if self.slot is not None:
            total, n = self.acc
            known = n and 2 * n >= g.per_slot
            ring[self.slot % g.size] = min(254, round(_STEPS * math.log1p(total / n))) if known else _UNKNOWN
            for skipped in range(max(self.slot + 1, slot - g.size), slot):
                ring[skipped % g.size] = _UNKNOWN
            self.acc = [0.0, 0]
        self.slot = slot
        self.profile = [self._profile(ring, slot + j) for j in ((0,) if g.per_slot == 1 else (-1, 0, 1))]
        if g.per_slot == 1:
            self.profile = [None, self.profile[0], None]
        weekly = bool(self._weekly(ring, slot))
        if weekly != self.weekly:  # the level was learnt against the other profile
            self.level = [0.0, 0.0]
            self.weekly = weekly

    def profile_at(self, bucket_start: int) -> float | None:
        """The history's count for this bucket (in the hour :meth:`advance` moved to),
        interpolated between hours; None: no history."""
        before, here, after = self.profile
        if here is None or self.grid.per_slot == 1:
            return here
        g = self.grid
        position = (bucket_start % g.slot + g.bucket / 2) / g.slot - 0.5
        other = after if position > 0 else before
        return here if other is None else here + (other - here) * abs(position)

    def _profile(self, ring: bytearray, slot: int) -> float | None:
        values = self._weekly(ring, slot)
        g = self.grid
        if not values and g.day:
            near = (-1, 0, 1) if g.day > 2 else (0,)
            values = [
                v
                for d in range(1, 7)
                for j in near
                if (v := ring[(slot - d * g.day + j) % g.size]) != _UNKNOWN
            ]
        return math.expm1(_median(values) / _STEPS) if values else None

    def _weekly(self, ring: bytearray, slot: int) -> list[int]:
        g = self.grid
        return [
            v
            for w in range(1, g.weeks + 1)
            for j in (-1, 0, 1)
            if (v := ring[(slot - w * g.week + j) % g.size]) != _UNKNOWN
        ]

    def factor(self) -> float:
        """Observed over profile lately (1 with no data), kept within 0.2..5."""
        observed, profiled = self.level
        return min(5.0, max(0.2, (observed + 1.0) / (profiled + 1.0)))

    def sigma(self, expected: float) -> float:
        """The spread of Anscombe(count) around Anscombe(expected): at least 1 (Poisson)."""
        squares, expecteds, weights = self.spread
        if weights <= 0 or expecteds <= 0:
            return 1.0
        phi = max(0.0, (squares - weights) / expecteds)
        return math.sqrt(1.0 + phi * expected)

    def learn(
        self, value: float, profile: float | None, expected: float | None, sigma: float, flaring: bool
    ) -> None:
        """Take an observed bucket in, after its verdict (``flaring``: in a flare and not calm)."""
        entry = value
        if expected is not None:
            cap = (
                expected if flaring else inverse_anscombe(anscombe(expected) + self.config.winsorise * sigma)
            )
            entry = min(value, cap)
        self.acc[0] += entry
        self.acc[1] += 1
        if profile is None or expected is None:
            return
        g = self.grid
        d, weight = (g.flare_decay, g.flare_weight) if flaring else (g.decay, 1.0)
        seen = min(value, 2.0 * expected) if flaring else entry
        self.level = [self.level[0] * d + weight * seen, self.level[1] * d + weight * profile]
        if flaring:
            return
        r = min(abs(anscombe(value) - anscombe(expected)), self.config.winsorise * sigma)
        s, ds = self.spread, g.spread_decay
        self.spread = [s[0] * ds + r * r, s[1] * ds + expected, s[2] * ds + 1.0]
