"""Event-level evaluation on hand-made labels and detections."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from models.detection.evaluation import Bars, Span, evaluate, score_series
from models.detection.synthetic import START, Label, LabelledSeries, generate_set

W = 300
DAY = 86_400


def b(i: int) -> int:
    """Bucket i of a hand-made series (epoch seconds)."""
    return START + i * W


@dataclass(frozen=True)
class D:
    start: int
    end: int


SERIES = LabelledSeries(
    "hand",
    "normal",
    W,
    START,
    tuple([5.0] * (14 * DAY // W)),  # two weeks
    (
        Label("spike", b(3000), b(3003), 4.0, "sudden"),
        Label("spike", b(3100), b(3100), 2.0, "short"),
        Label("spike", b(3200), b(3210), 6.0, "plateau"),
        Label("spike", b(3300), b(3305), 3.5, "ramped"),
        Label("ramp", b(3400), b(3450), 2.0),
        Label("holiday", b(1000), b(1287), 0.5),
        Label("gap", b(1500), b(1530), 0.0),
    ),
)


def test_matching_delay_excuses_and_false_incidents() -> None:
    detections = [
        D(b(2999), b(3004)),  # one bucket early: finds spike 1, delay 0
        D(b(3202), b(3209)),  # finds the plateau 2 buckets late
        D(b(3205), b(3212)),  # a second detection of the same spike: matched, not false
        D(b(3298), b(3310)),  # two buckets early: false, and the ramped spike is missed
        D(b(3420), b(3425)),  # inside a ramp: excused
        D(b(1100), b(1101)),  # on a holiday: false
        D(b(1535), b(1536)),  # just after a gap: false
        D(b(1800), b(1800)),  # noise: false
    ]
    result = score_series(SERIES, detections)
    assert (result.detections, result.matched, result.excused) == (8, 3, 1)
    assert [(label.start, delay) for label, delay in result.found] == [(b(3000), 0), (b(3200), 2)]
    assert [label.start for label in result.missed] == [b(3100), b(3300)]
    assert [f.near for f in result.false_alarms] == ["spike", "holiday", "gap", "warm-up"]


def test_report_figures_table_and_json() -> None:
    detections = [D(b(2999), b(3004)), D(b(3202), b(3209)), D(b(1800), b(1800))]
    result = score_series(SERIES, detections)
    report = evaluate([SERIES], lambda points, width: detections)
    assert report.results[0] == result
    assert report.precision == pytest.approx(2 / 3)
    assert report.recall() == pytest.approx(2 / 4)
    assert report.recall(3.0) == pytest.approx(2 / 3)
    assert report.band(2.0, 3.0).spikes == 1 and report.band(2.0, 3.0).found == 0
    assert report.median_delay == 1.0
    assert report.false_per_series_week == pytest.approx(0.5)
    assert report.failures() == [
        "recall (spikes >= 3x) 0.667 >= 0.9",
        "precision 0.667 >= 0.9",
    ]
    table = report.table()
    assert "FAIL" in table and "2-3x" in table and "ramped/normal 1" in table
    data = report.to_json()
    assert data["recall_3x"] == pytest.approx(0.6667, abs=1e-4)
    assert data["false_incidents"] == 1 and data["meets_bars"] is False
    assert data["misses"][0]["shape"] == "short"


def test_an_oracle_meets_every_bar_and_silence_finds_nothing() -> None:
    series = generate_set(500, n=10)
    labels = iter(s.labels for s in series)

    def oracle(points: Sequence[tuple[int, float | None]], width: int) -> list[Span]:
        return [D(lb.start, lb.end) for lb in next(labels) if lb.kind == "spike"]

    report = evaluate(series, oracle)
    assert (report.precision, report.recall(), report.median_delay) == (1.0, 1.0, 0)
    assert not report.failures() and not report.false_alarms
    silent = evaluate(series, lambda points, width: [], Bars(recall_3x=0.0))
    assert silent.recall() == 0.0 and silent.precision == 1.0 and silent.median_delay is None
    assert silent.failures() == []
