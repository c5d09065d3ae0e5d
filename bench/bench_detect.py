"""The flare-up detector at its default settings: quality on the held-out set, the Poisson baseline
it replaced, speed and state size.

    .venv/bin/python bench/bench_detect.py [--series 60] [--weeks 3] [--fleet 1000] [--days 2]

1. The held-out set (:func:`models.detection.synthetic.held_out_set`, never tuned on) through
   :func:`models.detection.evaluation.evaluate`: the report's table, with the bars.
2. The same set through a Poisson z-score against a 7-day median (the median of the same time of
   day over the previous 7 days; ``z = (count - median) / sqrt(median)``), with the same guards
   and lifecycle (min count, watch score, a week of warm-up, the resolve rule); once more with the
   ratio guard too: false incidents per series-week and precision, against the detector's.
3. Speed, as the worker runs it: ``--fleet`` series, each bucket a detector built from the stored
   state, one bucket observed, its state written back and encoded to JSON (the changelog record),
   over ``--days`` of 5-minute buckets after a week of warm-up (not timed). Buckets/s.
4. State bytes per series: the JSON of those states (compact, as a changelog carries them).

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.detection import DetectorConfig, SeriesDetector
from models.detection.evaluation import Points, Report, evaluate
from models.detection.synthetic import held_out_set

DAY = 86_400


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int


def poisson_median(points: Points, width: int, ratio: float | None = None) -> list[Span]:
    """The comparison: Poisson z against the 7-day same-time-of-day median, the detector's
    default min count, watch score, warm-up and resolve rule (no cooldown)."""
    c = DetectorConfig()
    per_day = DAY // width
    values = [v for _, v in points]
    spans: list[Span] = []
    start: int | None = None
    calm, last = 0, 0
    for i, (at, value) in enumerate(points):
        history = [h for k in range(1, 8) if i >= k * per_day and (h := values[i - k * per_day]) is not None]
        if value is None or i * width < c.warmup_hours * 3600 or not history:
            continue
        median = statistics.median(history)
        z = (value - median) / math.sqrt(max(median, 1.0))
        hot = value >= c.min_count and z >= c.watch.score and (ratio is None or value >= ratio * median)
        if start is None:
            if hot:
                start, calm, last = at, 0, at
            continue
        calm = calm + width if z < c.resolve_score else 0
        if calm >= c.resolve_minutes * 60:
            spans.append(Span(start, last))
            start = None
        else:
            last = at
    if start is not None:
        spans.append(Span(start, last))
    return spans


def quality(series: int, weeks: int) -> None:
    held_out = held_out_set(series, weeks)
    ours = evaluate(held_out)
    print(f"held-out set, default settings: {ours.table()}\n")
    rows: list[tuple[str, Report]] = [("detector (Anscombe, robust spread)", ours)]
    rows.append(("poisson z vs 7-day median", evaluate(held_out, poisson_median)))
    rows.append(
        (
            "poisson z vs 7-day median, ratio 1.8",
            evaluate(held_out, lambda points, width: poisson_median(points, width, ratio=1.8)),
        )
    )
    print(f"{'baseline':40}{'false':>7}{'false/sw':>10}{'x ours':>8}{'precision':>11}{'recall>=3x':>12}")
    for name, r in rows:
        times = f"{len(r.false_alarms) / max(1, len(ours.false_alarms)):.0f}x" if r is not ours else "-"
        print(
            f"{name:40}{len(r.false_alarms):>7}{r.false_per_series_week:>10.3f}{times:>8}"
            f"{r.precision:>11.3f}{r.recall(3.0) or 0:>12.3f}"
        )
    print("(x ours: false incidents over the detector's, its count floored at 1)\n")


def fleet(size: int, days: float) -> None:
    config = DetectorConfig()
    w = config.bucket_seconds
    per_day = DAY // w
    warm_n, timed_n = 8 * per_day, int(days * per_day)
    t0 = 1_704_067_200
    rng = np.random.default_rng(7)
    levels = np.exp(rng.uniform(math.log(0.3), math.log(300), 16))
    cycle = np.exp(0.7 * np.cos(2 * np.pi * np.arange(warm_n + timed_n) / per_day))
    templates: list[dict[str, Any]] = []
    for level in levels:
        detector = SeriesDetector(config, None)
        for i, count in enumerate(_counts(rng, level * cycle[:warm_n])):
            detector.observe(t0 + i * w, count)
        templates.append(detector.to_json())
    counts = [_counts(rng, levels[k % len(levels)] * cycle[warm_n:]) for k in range(size)]
    states = [templates[k % len(templates)] for k in range(size)]
    started = time.perf_counter()
    stored = 0
    for j in range(timed_n):
        at = t0 + (warm_n + j) * w
        for k in range(size):
            detector = SeriesDetector(config, states[k])
            detector.observe(at, counts[k][j])
            states[k] = detector.to_json()
            stored += len(json.dumps(states[k], separators=(",", ":")))
    seconds = time.perf_counter() - started
    buckets = size * timed_n
    sizes = [len(json.dumps(s, separators=(",", ":"))) for s in states]
    print(f"fleet: {size:,} series x {timed_n:,} buckets, restored, observed, stored and encoded per bucket")
    print(f"  buckets/s                 {buckets / seconds:>10,.0f}")
    print(f"  us per bucket             {1e6 * seconds / buckets:>10,.1f}")
    print(f"  state bytes per series    {statistics.mean(sizes):>10,.0f}  (max {max(sizes):,})")
    print(f"  changelog bytes per bucket{stored / buckets:>10,.0f}")
    plain = SeriesDetector(replace(config), templates[0])
    began = time.perf_counter()
    for j in range(timed_n):
        plain.observe(t0 + (warm_n + j) * w, counts[0][j])
    per = (time.perf_counter() - began) / timed_n
    print(f"  one detector kept in memory: {1 / per:,.0f} buckets/s ({1e6 * per:.1f} us per bucket)")


def _counts(rng: np.random.Generator, rate: np.ndarray[Any, Any]) -> Sequence[float]:
    noisy = rate * rng.gamma(30.0, 1 / 30.0, rate.size)
    return [float(x) for x in rng.poisson(noisy)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=60, help="held-out series (default 60)")
    parser.add_argument("--weeks", type=int, default=3)
    parser.add_argument("--fleet", type=int, default=1000, help="series in the speed test")
    parser.add_argument("--days", type=float, default=2.0, help="days timed in the speed test")
    args = parser.parse_args()
    quality(args.series, args.weeks)
    fleet(args.fleet, args.days)


if __name__ == "__main__":
    main()
