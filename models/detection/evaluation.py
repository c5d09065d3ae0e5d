"""Event-level evaluation of a detector on labelled series (:mod:`models.detection.synthetic`).

Matching, per series of bucket width ``w``:

- a detection *finds* a ``spike`` label when it starts within the spike, or up to one bucket
  before it: ``label.start - w <= detection.start <= label.end``. A flare already running when
  the spike began does not find it (an escalation is not a new page);
- a detection that finds no spike but overlaps an excused label (``blip``, ``ramp``, ``shift``;
  see :data:`models.detection.synthetic.EXCUSED`) counts neither way;
- every other detection is a false incident (on a holiday, after a gap, in the warm-up, in noise).

Figures: precision = detections that find a spike / (those + false incidents); recall = spikes
found / spikes, overall and by height band (the bar is on spikes of 3x or more); delay = first
finding detection's start - spike start, in buckets, at least 0; false incidents per series per
simulated week.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from models.detection.synthetic import EXCUSED, Label, LabelledSeries

if TYPE_CHECKING:
    from models.detection import Flare

Points = Sequence[tuple[int, float | None]]
_WEEK = 7 * 86_400
_BANDS = ((1.5, 2.0), (2.0, 3.0), (3.0, 5.0), (5.0, None))


class Span(Protocol):
    """A detected flare-up: first and last flaring bucket (epoch seconds)."""

    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


Detector = Callable[[Points, int], Sequence[Span]]
"""(points, bucket_seconds) -> detections; see :func:`default_detector`."""


@dataclass(frozen=True, slots=True)
class Bars:
    """The issue's bars, at the default settings on the held-out set."""

    recall_3x: float = 0.9
    precision: float = 0.9
    median_delay: float = 2.0
    false_per_series_week: float = 1.0


@dataclass(frozen=True, slots=True)
class Miss:
    series: str
    profile: str
    label: Label


@dataclass(frozen=True, slots=True)
class FalseAlarm:
    series: str
    profile: str
    start: int
    end: int
    near: str
    """What it is next to: the kind of a label within 12 buckets (holiday, gap; spike: too early
    or too late to find it), else ``warm-up`` (the first week) or ``noise``."""


@dataclass(frozen=True, slots=True)
class SeriesResult:
    series: str
    profile: str
    weeks: float
    detections: int
    matched: int
    excused: int
    found: tuple[tuple[Label, int], ...]
    """Spikes found, with the delay in buckets."""
    missed: tuple[Label, ...]
    false_alarms: tuple[FalseAlarm, ...]


def score_series(series: LabelledSeries, detections: Sequence[Span]) -> SeriesResult:
    """Match one series' detections against its labels (rules in the module docstring)."""
    w = series.bucket_seconds
    spikes = [label for label in series.labels if label.kind == "spike"]
    delays: dict[Label, int] = {}
    matched = excused = 0
    false: list[FalseAlarm] = []
    for d in detections:
        finds = [s for s in spikes if s.start - w <= d.start <= s.end]
        for spike in finds:
            delay = max(0, (d.start - spike.start) // w)
            delays[spike] = min(delay, delays.get(spike, delay))
        if finds:
            matched += 1
        elif any(x.kind in EXCUSED and d.start <= x.end and d.end >= x.start - w for x in series.labels):
            excused += 1
        else:
            false.append(FalseAlarm(series.name, series.profile, d.start, d.end, _near(series, d)))
    return SeriesResult(
        series.name,
        series.profile,
        series.weeks,
        len(detections),
        matched,
        excused,
        tuple((s, delays[s]) for s in spikes if s in delays),
        tuple(s for s in spikes if s not in delays),
        tuple(false),
    )


def _near(series: LabelledSeries, d: Span) -> str:
    w = series.bucket_seconds
    for label in series.labels:
        if label.kind not in EXCUSED and label.start - 12 * w <= d.start <= label.end + 12 * w:
            return label.kind
    return "warm-up" if d.start < series.start + _WEEK else "noise"


@dataclass(frozen=True, slots=True)
class Band:
    low: float
    high: float | None
    spikes: int
    found: int

    @property
    def name(self) -> str:
        return f"{self.low:g}-{self.high:g}x" if self.high else f">={self.low:g}x"

    @property
    def recall(self) -> float | None:
        return self.found / self.spikes if self.spikes else None


@dataclass(frozen=True, slots=True)
class Report:
    results: tuple[SeriesResult, ...]
    seconds: float = 0.0
    """Time spent in the detector."""
    buckets: int = 0
    bars: Bars = field(default_factory=Bars)

    @property
    def detections(self) -> int:
        return sum(r.detections for r in self.results)

    @property
    def matched(self) -> int:
        return sum(r.matched for r in self.results)

    @property
    def excused(self) -> int:
        return sum(r.excused for r in self.results)

    @property
    def false_alarms(self) -> tuple[FalseAlarm, ...]:
        return tuple(f for r in self.results for f in r.false_alarms)

    @property
    def misses(self) -> tuple[Miss, ...]:
        return tuple(Miss(r.series, r.profile, label) for r in self.results for label in r.missed)

    @property
    def precision(self) -> float:
        judged = self.matched + len(self.false_alarms)
        return self.matched / judged if judged else 1.0

    @property
    def series_weeks(self) -> float:
        return sum(r.weeks for r in self.results)

    @property
    def false_per_series_week(self) -> float:
        return len(self.false_alarms) / self.series_weeks if self.series_weeks else 0.0

    @property
    def delays(self) -> list[int]:
        return [delay for r in self.results for _, delay in r.found]

    @property
    def median_delay(self) -> float | None:
        return statistics.median(self.delays) if self.delays else None

    def recall(self, low: float = 0.0, high: float | None = None) -> float | None:
        """Recall on spikes with ``low <= height < high``; None if there are none."""
        band = self.band(low, high)
        return band.recall

    def band(self, low: float, high: float | None = None) -> Band:
        def inside(label: Label) -> bool:
            return label.height >= low and (high is None or label.height < high)

        found = sum(1 for r in self.results for label, _ in r.found if inside(label))
        missed = sum(1 for r in self.results for label in r.missed if inside(label))
        return Band(low, high, found + missed, found)

    def failures(self) -> list[str]:
        """The bars not met, as readable lines (empty: all met)."""
        return [f"{name} {value} {bar}" for name, value, bar, ok in self._checks() if not ok]

    def _checks(self) -> list[tuple[str, str, str, bool]]:
        b = self.bars
        r3, delay, fpw = self.recall(3.0), self.median_delay, self.false_per_series_week
        return [
            ("recall (spikes >= 3x)", _f(r3), f">= {b.recall_3x:g}", r3 is None or r3 >= b.recall_3x),
            ("precision", _f(self.precision), f">= {b.precision:g}", self.precision >= b.precision),
            ("median delay (buckets)", _f(delay), f"<= {b.median_delay:g}", (delay or 0) <= b.median_delay),
            (
                "false incidents/series/week",
                _f(fpw),
                f"<= {b.false_per_series_week:g}",
                fpw <= b.false_per_series_week,
            ),
        ]

    def table(self) -> str:
        """A plain-text summary: the bars, recall by height band, where misses and false
        incidents come from."""
        lines = [
            f"{len(self.results)} series, {self.series_weeks:.1f} series-weeks, {self.detections} detections"
            f" ({self.matched} found a spike, {self.excused} excused, {len(self.false_alarms)} false)",
            f"{'':30}{'value':>8}  {'bar':<8}",
        ]
        lines += [f"{n:30}{v:>8}  {bar:<8}  {'ok' if ok else 'FAIL'}" for n, v, bar, ok in self._checks()]
        lines.append(f"{'recall (all spikes)':30}{_f(self.recall()):>8}")
        for low, high in _BANDS:
            band = self.band(low, high)
            lines.append(f"{'  ' + band.name:30}{_f(band.recall):>8}  ({band.found}/{band.spikes})")
        lines.append("misses (>=3x) by shape/profile: " + _counts(_miss_keys(self.misses)))
        lines.append(
            "false incidents by profile/near: " + _counts(f"{f.profile}/{f.near}" for f in self.false_alarms)
        )
        if self.seconds:
            lines.append(f"detector: {self.buckets} buckets in {self.seconds:.2f}s")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "series": len(self.results),
            "series_weeks": round(self.series_weeks, 3),
            "detections": self.detections,
            "matched": self.matched,
            "excused": self.excused,
            "false_incidents": len(self.false_alarms),
            "precision": _r(self.precision),
            "recall": _r(self.recall()),
            "recall_3x": _r(self.recall(3.0)),
            "recall_by_height": {b.name: _r(b.recall) for b in (self.band(lo, hi) for lo, hi in _BANDS)},
            "median_delay_buckets": self.median_delay,
            "false_incidents_per_series_week": _r(self.false_per_series_week),
            "meets_bars": not self.failures(),
            "failures": self.failures(),
            "misses": [{"series": m.series, "profile": m.profile, **m.label.to_json()} for m in self.misses],
            "false_alarms_by_cause": dict(Counter(f"{f.profile}/{f.near}" for f in self.false_alarms)),
            "detector_seconds": round(self.seconds, 3),
            "buckets": self.buckets,
        }


def evaluate(
    series: Iterable[LabelledSeries], detect: Detector | None = None, bars: Bars | None = None
) -> Report:
    """Run ``detect`` (default: :func:`default_detector`) on every series and score it."""
    detect = detect or default_detector
    results: list[SeriesResult] = []
    seconds, buckets = 0.0, 0
    for s in series:
        began = time.perf_counter()
        detections = detect(s.points(), s.bucket_seconds)
        seconds += time.perf_counter() - began
        buckets += len(s.values)
        results.append(score_series(s, detections))
    return Report(tuple(results), seconds, buckets, bars or Bars())


def detect_points(points: Points, bucket_seconds: int) -> list[Flare]:
    """:func:`models.detection.detect_series` at the default settings but this bucket width. A
    grid not aligned to the epoch (hourly buckets at :30) is shifted onto it and back."""
    from models.detection import DetectorConfig, detect_series

    if not points:
        return []
    offset = points[0][0] % bucket_seconds
    config = replace(DetectorConfig(), bucket_seconds=bucket_seconds)
    flares = detect_series([(at - offset, value) for at, value in points], config)
    if not offset:
        return flares
    return [replace(f, start=f.start + offset, peak=f.peak + offset, end=f.end + offset) for f in flares]


default_detector: Detector = detect_points


def _miss_keys(misses: Iterable[Miss]) -> Iterable[str]:
    return (f"{m.label.shape}/{m.profile}" for m in misses if m.label.height >= 3.0)


def _counts(keys: Iterable[str]) -> str:
    counted = Counter(keys).most_common()
    return ", ".join(f"{key} {n}" for key, n in counted) or "none"


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
