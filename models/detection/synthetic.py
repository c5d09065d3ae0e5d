"""Labelled synthetic series of mention counts, to tune and evaluate the detector.

A series is ``base rate x event multipliers``, drawn with gamma-Poisson (negative binomial) noise:

- base: a level (quiet under one per bucket, normal, busy hundreds per bucket), a daily profile in
  the series' own time zone, a weekly one (weekends lower or higher), a trend over the whole span,
  and a slow day-to-day wander;
- noise: each bucket's rate times Gamma(k, 1/k) with a dispersion k of its own per series (20..100),
  then Poisson; variance ``mu + mu^2 / k``, so busy series are far from Poisson;
- events, each labelled (:class:`Label`, buckets inclusive):
  - ``spike``: a flare-up a detector must find: heights 1.5x..10x over the base at that time (quiet
    series: 4..30 at the peak), shapes short (one bucket), sudden, plateau (hours), ramped, long
    (slow decay); a spike whose peak rate is under :data:`MIN_SPIKE_COUNT` is a ``blip`` instead;
  - ``blip``, ``ramp`` (a slow rise over hours to 1.5..2.5x and back) and ``shift`` (a lasting
    level change, up 1.6..3x or down; labelled for the week a baseline needs to follow it): a
    detector MAY flag these; evaluation counts them neither as found nor as false;
  - ``holiday``: a whole day lower (0.4..0.7x) or higher (1.2..1.4x): not a flare-up;
  - ``gap``: hours without data (``None``); neither the gap nor the return of data is a flare-up.

Events start after the first week (history for a baseline). Everything is drawn from one seed;
the same seed gives the same series. :func:`tuning_set` and :func:`held_out_set` use disjoint
seed ranges: tune on the first, report on the second.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

Point = tuple[int, float | None]
"""(bucket start in epoch seconds, count or None for a gap)."""
Profile = Literal["quiet", "normal", "busy"]
EventKind = Literal["spike", "blip", "ramp", "shift", "holiday", "gap"]
Shape = Literal["short", "sudden", "plateau", "ramped", "long"]

START = 1_704_067_200
"""2024-01-01T00:00Z, a Monday: where every series starts."""
MIN_SPIKE_COUNT = 10.0
"""A spike whose peak rate (mentions per bucket) is below this is a ``blip``: a quiet brand's
0 -> 3 is not a crisis."""
EXCUSED: frozenset[str] = frozenset({"blip", "ramp", "shift"})
"""Label kinds a detector may flag or not: never a miss, never a false incident."""
TUNING_SEED = 0
HELD_OUT_SEED = 1_000_000
_MIX = "nqnbnnhnqnbnnnqnbnhn"
"""Profiles by position in a set (n normal, q quiet, b busy, h hourly buckets): every 20 series
hold 3 quiet, 3 busy and 2 hourly ones."""
_SHAPES: tuple[Shape, ...] = ("short", "sudden", "sudden", "plateau", "ramped", "long")
_DAY = 86_400
_Array = np.ndarray[Any, Any]


@dataclass(frozen=True, slots=True)
class Label:
    kind: EventKind
    start: int
    """First bucket (epoch seconds)."""
    end: int
    """Last bucket, inclusive."""
    height: float
    """Peak rate over the base rate (spike, blip, ramp), the factor (shift, holiday), 0 (gap)."""
    shape: Shape | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "height": round(self.height, 3),
            "shape": self.shape,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Label:
        return cls(
            data["kind"], _epoch(data["start"]), _epoch(data["end"]), float(data["height"]), data.get("shape")
        )


@dataclass(frozen=True, slots=True)
class LabelledSeries:
    name: str
    profile: Profile
    bucket_seconds: int
    start: int
    values: tuple[float | None, ...]
    labels: tuple[Label, ...]

    @property
    def weeks(self) -> float:
        return len(self.values) * self.bucket_seconds / (7 * _DAY)

    def points(self) -> list[Point]:
        w = self.bucket_seconds
        return [(self.start + i * w, v) for i, v in enumerate(self.values)]

    def csv_lines(self) -> Iterator[str]:
        """The CSV contract of ``flarewatch detect``; gaps are missing rows. Hourly series are
        written with epoch seconds, the others with ISO 8601 (both paths get exercised)."""
        yield "timestamp,value\n"
        for at, value in self.points():
            if value is not None:
                stamp = str(at) if self.bucket_seconds >= 3600 else _iso(at)
                yield f"{stamp},{value:g}\n"

    @classmethod
    def from_json(
        cls, header: dict[str, Any], bucket_seconds: int, points: Sequence[Point]
    ) -> LabelledSeries:
        """A series read back: ``header`` from :meth:`header_json`, ``points`` contiguous."""
        start = points[0][0] if points else _epoch(header["start"])
        return cls(
            str(header["series"]),
            header.get("profile", "normal"),
            bucket_seconds,
            start,
            tuple(value for _, value in points),
            tuple(Label.from_json(label) for label in header["labels"]),
        )

    def header_json(self) -> dict[str, Any]:
        """Everything but the values: one line of ``labels.jsonl``."""
        return {
            "series": self.name,
            "file": f"{self.name}.csv",
            "profile": self.profile,
            "bucket_seconds": self.bucket_seconds,
            "start": _iso(self.start),
            "buckets": len(self.values),
            "labels": [label.to_json() for label in self.labels],
        }


def tuning_set(n: int = 60, weeks: int = 3) -> tuple[LabelledSeries, ...]:
    return generate_set(TUNING_SEED, n, weeks)


def held_out_set(n: int = 60, weeks: int = 3) -> tuple[LabelledSeries, ...]:
    return generate_set(HELD_OUT_SEED, n, weeks)


def generate_set(first_seed: int, n: int = 60, weeks: int = 3) -> tuple[LabelledSeries, ...]:
    """``n`` series with seeds ``first_seed ..``; profiles follow a fixed mix (see ``_MIX``)."""
    return tuple(generate_series(first_seed + i, series_kind(i), weeks) for i in range(n))


def series_kind(position: int) -> str:
    """The kind of series at this position in a set (see :func:`generate_series`)."""
    return _MIX[position % len(_MIX)]


def generate_series(seed: int, kind: str = "n", weeks: int = 3) -> LabelledSeries:
    """One series; ``kind`` is n(ormal), q(uiet), b(usy) or h (normal, hourly buckets)."""
    if weeks < 2:
        raise ValueError("weeks must be at least 2 (one of history, then events)")
    rng = np.random.default_rng(seed)
    profile: Profile = "quiet" if kind == "q" else "busy" if kind == "b" else "normal"
    width = 3600 if kind == "h" else 300
    n = weeks * 7 * _DAY // width
    base = _base(rng, profile, width, n)
    multiplier = np.ones(n)
    labels = _events(rng, profile, width, base, multiplier)
    k = math.exp(rng.uniform(math.log(20), math.log(100)))
    counts = rng.poisson(base * multiplier * rng.gamma(k, 1 / k, n)).astype(float)
    values: list[float | None] = list(counts.tolist())
    for label in labels:
        if label.kind == "gap":
            first, last = (label.start - START) // width, (label.end - START) // width
            values[first : last + 1] = [None] * (last - first + 1)
    return LabelledSeries(f"{seed:07d}-{profile}-{width}s", profile, width, START, tuple(values), labels)


def _base(rng: np.random.Generator, profile: Profile, width: int, n: int) -> _Array:
    per_5min = {
        "quiet": rng.uniform(0.15, 0.9),
        "normal": math.exp(rng.uniform(math.log(3), math.log(60))),
        "busy": rng.uniform(100, 600),
    }[profile]
    hours = np.arange(n) * (width / 3600) + rng.uniform(-6, 6)
    local = hours % 24
    days = np.floor(hours / 24) % 7
    a1, a2 = rng.uniform(0.4, 0.9), rng.uniform(0.0, 0.3)
    peak1, peak2 = rng.uniform(12, 20), rng.uniform(0, 24)
    log_rate = a1 * np.cos(2 * np.pi * (local - peak1) / 24) + a2 * np.cos(4 * np.pi * (local - peak2) / 24)
    weekday = np.append(rng.normal(0, 0.07, 5), np.full(2, math.log(rng.uniform(0.5, 1.2))))
    log_rate += weekday[days.astype(int)]
    log_rate += np.linspace(0, rng.uniform(-0.3, 0.4), n)
    wander = rng.normal(0, 0.07, int(hours[-1] // 24) + 3)
    log_rate += np.interp(hours / 24, np.arange(wander.size) - 1, wander)
    rate = np.exp(log_rate)
    return np.asarray(rate * (per_5min * width / 300) / rate.mean())


def _events(
    rng: np.random.Generator, profile: Profile, width: int, base: _Array, mult: _Array
) -> tuple[Label, ...]:
    """Draw the events, apply them to ``mult`` in place, return their labels (sorted)."""
    timeline = _Timeline(rng, width, base, mult)
    if rng.random() < 0.3:
        timeline.shift()
    if rng.random() < 0.35:
        timeline.holiday()
    if rng.random() < 0.35:
        timeline.ramp()
    for _ in range(int(rng.integers(1, 3)) if profile == "quiet" else int(rng.integers(3, 6))):
        timeline.spike(quiet=profile == "quiet")
    if rng.random() < 0.3:
        timeline.gap()
    return tuple(sorted(timeline.labels, key=lambda item: item.start))


class _Timeline:
    """Places events on one series without overlaps and applies their multipliers."""

    def __init__(self, rng: np.random.Generator, width: int, base: _Array, mult: _Array) -> None:
        self.rng, self.width, self.base, self.mult = rng, width, base, mult
        self.per_day = _DAY // width
        self.taken: list[tuple[int, int]] = []
        self.labels: list[Label] = []

    def shift(self) -> None:
        first = int(self.rng.integers(10 * self.per_day, self.mult.size - 2 * self.per_day))
        up = self.rng.random() < 0.6
        factor = self.rng.uniform(1.6, 3.0) if up else self.rng.uniform(0.4, 0.7)
        self.taken.append((first - self.per_day // 4, first + self.per_day))
        self.mult[first:] *= factor
        self._label("shift", first, first + 7 * self.per_day - 1, factor)

    def holiday(self) -> None:
        first = int(self.rng.integers(7, self.mult.size // self.per_day)) * self.per_day
        factor = self.rng.uniform(0.4, 0.7) if self.rng.random() < 0.6 else self.rng.uniform(1.2, 1.4)
        self.mult[first : first + self.per_day] *= factor
        self._label("holiday", first, first + self.per_day - 1, factor)

    def ramp(self) -> None:
        hour = 3600 // self.width
        rise, hold = int(self.rng.integers(3, 11)) * hour, int(self.rng.integers(1, 7)) * hour
        up = np.arange(1, rise + 1) / rise
        curve = np.concatenate([up, np.ones(hold), up[::-1]])
        first = self._place(curve.size)
        if first is not None:
            height = self.rng.uniform(1.5, 2.5)
            self.mult[first : first + curve.size] *= 1 + (height - 1) * curve
            self._label("ramp", first, first + curve.size - 1, height)

    def spike(self, quiet: bool) -> None:
        shape: Shape = _SHAPES[int(self.rng.integers(0, len(_SHAPES)))]
        curve = _curve(self.rng, shape)
        first = self._place(curve.size)
        if first is None:
            return
        level = float(self.base[first] * self.mult[first])
        if quiet:
            height = max(1.5, self.rng.uniform(4, 30) / level)
        else:
            height = math.exp(self.rng.uniform(math.log(1.5), math.log(10)))
        self.mult[first : first + curve.size] *= 1 + (height - 1) * curve
        kind: EventKind = "spike" if level * height >= MIN_SPIKE_COUNT else "blip"
        self._label(kind, first, first + curve.size - 1, height, shape)

    def gap(self) -> None:
        length = max(1, int(self.rng.uniform(1, 36) * 3600 // self.width))
        first = self._place(length, earliest=self.per_day)
        if first is not None:
            self._label("gap", first, first + length - 1, 0.0)

    def _place(self, length: int, earliest: int | None = None) -> int | None:
        """A free start at least 3 h clear of other events, after the first week (or ``earliest``),
        and ending 4 h before the series does; None after 50 tries."""
        low = 7 * self.per_day if earliest is None else earliest
        high = max(low + 1, self.mult.size - length - self.per_day // 6)
        pad = self.per_day // 8
        for _ in range(50):
            first = int(self.rng.integers(low, high))
            if all(first + length + pad <= a or first >= b + pad for a, b in self.taken):
                self.taken.append((first, first + length))
                return first
        return None

    def _label(
        self, kind: EventKind, first: int, last: int, height: float, shape: Shape | None = None
    ) -> None:
        last = min(last, self.mult.size - 1)
        self.labels.append(Label(kind, START + first * self.width, START + last * self.width, height, shape))


def _curve(rng: np.random.Generator, shape: Shape) -> _Array:
    """The spike's multiplier shape in [0, 1], one entry per bucket."""

    def ints(low: int, high: int) -> int:
        return int(rng.integers(low, high + 1))

    def down(length: int) -> _Array:
        return np.arange(length, 0, -1) / (length + 1)

    if shape == "short":
        return np.ones(1)
    if shape == "sudden":
        return np.concatenate([np.ones(ints(2, 5)), down(ints(1, 3))])
    if shape == "plateau":
        return np.concatenate([np.ones(ints(12, 36)), down(2)])
    if shape == "ramped":
        rise = ints(3, 6)
        return np.concatenate([np.arange(1, rise + 1) / rise, np.ones(ints(1, 3)), down(ints(3, 6))])
    return np.concatenate([np.ones(ints(4, 8)), down(ints(12, 24))])


def _iso(at: int) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())
