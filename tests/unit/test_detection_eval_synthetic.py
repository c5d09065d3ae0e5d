"""The labelled synthetic series: deterministic, labels that mean what they say, fast."""

from __future__ import annotations

import statistics
import time
from itertools import pairwise

import pytest

from models.detection.csvseries import read_series
from models.detection.synthetic import (
    MIN_SPIKE_COUNT,
    START,
    LabelledSeries,
    generate_series,
    held_out_set,
    tuning_set,
)

WEEK = 7 * 86_400


@pytest.fixture(scope="module")
def held_out() -> tuple[LabelledSeries, ...]:
    return held_out_set()


def test_same_seed_same_series_other_seed_other_series() -> None:
    assert generate_series(42) == generate_series(42)
    assert generate_series(42).values != generate_series(43).values


def test_tuning_and_held_out_sets_are_disjoint(held_out: tuple[LabelledSeries, ...]) -> None:
    tuning = tuning_set()
    assert len(tuning) == len(held_out) == 60
    assert not {s.name for s in tuning} & {s.name for s in held_out}
    assert held_out_set(n=5) == held_out[:5]


def test_the_set_is_generated_fast() -> None:
    began = time.perf_counter()
    held_out_set()
    assert time.perf_counter() - began < 3.0


def test_profiles_quiet_busy_and_hourly(held_out: tuple[LabelledSeries, ...]) -> None:
    def mean(s: LabelledSeries) -> float:
        return statistics.fmean(v for v in s.values if v is not None)

    quiet = [s for s in held_out if s.profile == "quiet"]
    busy = [s for s in held_out if s.profile == "busy"]
    assert len(quiet) >= 6 and all(mean(s) < 1.5 for s in quiet)
    assert len(busy) >= 6 and all(mean(s) >= 80 for s in busy)
    assert 2 <= sum(1 for s in held_out if s.bucket_seconds == 3600) <= 10
    assert all(s.weeks == pytest.approx(3.0) for s in held_out)


def test_overdispersed(held_out: tuple[LabelledSeries, ...]) -> None:
    busy = next(s for s in held_out if s.profile == "busy")
    diffs = [b - a for a, b in pairwise(busy.values[:2000]) if a is not None and b is not None]
    mean = statistics.fmean(v for v in busy.values[:2000] if v is not None)
    assert statistics.variance(diffs) / 2 > 3 * mean  # Poisson would give about the mean


def test_labels_are_sane(held_out: tuple[LabelledSeries, ...]) -> None:
    kinds = {label.kind for s in held_out for label in s.labels}
    assert kinds == {"spike", "blip", "ramp", "shift", "holiday", "gap"}
    heights = [label.height for s in held_out for label in s.labels if label.kind == "spike"]
    assert sum(h >= 3 for h in heights) >= 60 and sum(h < 3 for h in heights) >= 20
    for s in held_out:
        end = s.start + (len(s.values) - 1) * s.bucket_seconds
        for label in s.labels:
            assert s.start <= label.start <= label.end <= end
            assert (label.start - s.start) % s.bucket_seconds == 0
            if label.kind in ("spike", "blip", "ramp"):
                assert label.start >= START + WEEK
        events = sorted((lb.start, lb.end) for lb in s.labels if lb.kind in ("spike", "blip", "ramp", "gap"))
        assert all(a[1] < b[0] for a, b in pairwise(events))


def test_spikes_stand_out_and_gaps_are_missing(held_out: tuple[LabelledSeries, ...]) -> None:
    for s in held_out:
        by_time = dict(s.points())
        for label in s.labels:
            inside = [by_time[t] for t in range(label.start, label.end + 1, s.bucket_seconds)]
            if label.kind == "gap":
                assert all(v is None for v in inside)
            elif label.kind == "spike" and label.height >= 5:
                assert max(v or 0 for v in inside) >= MIN_SPIKE_COUNT / 2


def test_csv_and_labels_round_trip() -> None:
    for kind in ("n", "h"):
        original = generate_series(7, kind)
        parsed = read_series(original.csv_lines())
        back = LabelledSeries.from_json(original.header_json(), parsed.bucket_seconds, parsed.points)
        assert back.bucket_seconds == original.bucket_seconds
        assert back.points() == original.points()[: len(back.values)]
        assert [(lb.kind, lb.start, lb.end) for lb in back.labels] == [
            (lb.kind, lb.start, lb.end) for lb in original.labels
        ]
