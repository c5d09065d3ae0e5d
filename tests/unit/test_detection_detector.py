"""The flare-up detector: warm-up, guards, one flare per sustained spike, hysteresis, gaps, a
robust baseline, exact JSON restore, small state; and the settings section that configures it."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from models.detection import (
    BucketVerdict,
    DetectorConfig,
    SeriesDetector,
    Threshold,
    detect_series,
)
from models.detection.evaluation import evaluate
from models.detection.synthetic import generate_series, tuning_set
from streams.config.detector import DetectorSettings

W = 300
HOUR = 3600 // W
DAY = 24 * HOUR
T0 = 1_704_067_200  # a Monday, 00:00 UTC
CONFIG = DetectorConfig()


def level(i: int, mean: float) -> float:
    """A daily cycle around ``mean`` (bucket i)."""
    return mean * (1 + 0.5 * math.sin(2 * math.pi * (i % DAY) / DAY))


def counts(n: int, mean: float = 20.0, seed: int = 1) -> list[float]:
    rng = np.random.default_rng(seed)
    return [float(rng.poisson(level(i, mean))) for i in range(n)]


def feed(detector: SeriesDetector, values: list[float | None], first: int = 0) -> list[BucketVerdict]:
    return [detector.observe(T0 + (first + i) * W, v) for i, v in enumerate(values)]


def warmed(mean: float = 20.0, days: int = 8, seed: int = 1) -> tuple[SeriesDetector, int]:
    detector = SeriesDetector(CONFIG, None)
    n = days * DAY
    feed(detector, list(counts(n, mean, seed)))
    return detector, n


def events(verdicts: list[BucketVerdict]) -> list[str]:
    return [v.event for v in verdicts if v.event]


def test_warming_up_for_a_week_then_normal_and_no_alarm_meanwhile() -> None:
    detector = SeriesDetector(CONFIG, None)
    values: list[float | None] = list(counts(8 * DAY))
    values[3 * DAY] = 500.0  # a spike during the warm-up: no flare
    verdicts = feed(detector, values)
    assert {v.state for v in verdicts[: 7 * DAY]} == {"warming_up"}
    assert not events(verdicts)
    assert {v.state for v in verdicts[7 * DAY + 1 :]} == {"normal"}
    assert verdicts[-1].expected > 0 and verdicts[-1].severity is None


def test_min_count_guards_a_quiet_series() -> None:
    detector, n = warmed(mean=0.3)
    assert events(feed(detector, [5.0], n)) == []
    assert feed(detector, [0.0] * 12, n + 1)[-1].state == "normal"
    verdict = feed(detector, [25.0], n + 13)[0]
    assert (verdict.event, verdict.state) == ("started", "flaring")


def test_a_sustained_spike_is_one_flare_that_escalates() -> None:
    detector, n = warmed()
    base = [level(n + i, 20.0) for i in range(48)]
    spike = [
        b * f for b, f in zip(base, [2.5, 4, 6, 9, 12, 12, 12, 10, 8, 6, 4, 3] + [1.0] * 36, strict=True)
    ]
    verdicts = feed(detector, spike, n)
    kinds = events(verdicts)
    assert kinds[0] == "started" and kinds[-1] == "ended"
    assert kinds.count("started") == 1 and kinds.count("ended") == 1 and "escalated" in kinds
    flaring = [v for v in verdicts if v.state == "flaring"]
    assert {v.flare_start for v in flaring} == {T0 + n * W}
    order = ["watch", "warning", "critical"]
    ranks = [order.index(v.severity) for v in flaring if v.severity]
    assert ranks == sorted(ranks) and ranks[-1] == 2
    ended = next(v for v in verdicts if v.event == "ended")
    assert ended.state == "normal" and ended.peak == max(spike)
    flares = detect_series([(T0 + i * W, v) for i, v in enumerate(counts(n) + spike)], CONFIG)
    assert len(flares) == 1 and flares[0].severity == "critical"
    assert flares[0].start == T0 + n * W and flares[0].peak_value == max(spike)


def test_hysteresis_a_count_flapping_around_the_line_is_one_start_and_one_end() -> None:
    detector, n = warmed()
    flapping = [level(n + i, 20.0) * (3.0 if i % 2 else 1.6) for i in range(36)]
    after = [level(n + 36 + i, 20.0) for i in range(24)]
    verdicts = feed(detector, flapping + after, n)
    assert events(verdicts) == ["started", "ended"]
    resolve = int(CONFIG.resolve_minutes * 60 // W)
    ended = next(i for i, v in enumerate(verdicts) if v.event == "ended")
    assert ended == 36 + resolve - 1


def test_a_gap_is_not_a_drop_and_its_end_is_not_a_spike() -> None:
    detector, n = warmed()
    before = detector.observe(T0 + n * W, level(n, 20.0))
    gap = feed(detector, [None] * (6 * HOUR), n + 1)
    assert {v.state for v in gap} == {"gap"} and not events(gap)
    back = n + 1 + 6 * HOUR
    after = feed(detector, [level(back + i, 20.0) for i in range(2 * HOUR)], back)
    assert not events(after) and {v.state for v in after} == {"normal"}
    skipped = back + 2 * HOUR + 12 * HOUR  # buckets never fed are a gap too
    resumed = feed(detector, [level(skipped + i, 20.0) for i in range(HOUR)], skipped)
    assert not events(resumed)
    assert before.expected == pytest.approx(level(n, 20.0), rel=0.25)


def test_a_spike_in_history_does_not_inflate_next_weeks_baseline() -> None:
    plain, spiked = SeriesDetector(CONFIG, None), SeriesDetector(CONFIG, None)
    values = counts(17 * DAY)
    noisy = list(values)
    first = 8 * DAY + 12 * HOUR
    for i in range(first, first + 3 * HOUR):
        noisy[i] = values[i] * 10
    assert "started" in events(feed(spiked, list(noisy[: 9 * DAY])))
    feed(plain, list(values[: 9 * DAY]))
    rest = list(values[9 * DAY :])
    a, b = feed(plain, rest, 9 * DAY), feed(spiked, rest, 9 * DAY)
    week_later = first + 7 * DAY - 9 * DAY
    for i in range(week_later, week_later + 3 * HOUR):
        assert b[i].expected == pytest.approx(a[i].expected, rel=0.1)
    assert not events(b)


def test_restored_from_json_at_any_point_the_verdicts_are_identical() -> None:
    series = generate_series(3, "n", weeks=3)
    points = series.points()
    assert any(v is None for _, v in points)
    config = replace(CONFIG, warmup_hours=48)
    whole = SeriesDetector(config, None)
    expected = [whole.observe(t, v) for t, v in points]
    assert "started" in events(expected)
    state: dict[str, object] | None = None
    got = []
    for t, v in points:  # like the worker: restored, one bucket, stored, every time
        detector = SeriesDetector(config, state)
        got.append(detector.observe(t, v))
        state = json.loads(json.dumps(detector.to_json()))
    assert got == expected
    assert state == json.loads(json.dumps(whole.to_json()))
    restored = SeriesDetector(config, state)
    assert restored.last_bucket == whole.last_bucket == points[-1][0]


def test_state_stays_small_after_four_weeks() -> None:
    for kind in ("q", "b", "h"):
        series = generate_series(11, kind, weeks=5)
        detector = SeriesDetector(replace(CONFIG, bucket_seconds=series.bucket_seconds), None)
        for t, v in series.points():
            detector.observe(t, v)
        assert len(json.dumps(detector.to_json())) < 2000


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"bucket_seconds": 2 * 86_400}, "bucket_seconds"),
        ({"bucket_seconds": 0}, "bucket_seconds"),
        ({"min_count": 0}, "min_count"),
        ({"warmup_hours": -1}, "warmup_hours"),
        ({"history_days": 10}, "history_days"),
        ({"warning": Threshold(3.0, 3.0)}, "warning must not be below watch"),
        ({"critical": Threshold(12.0, 6.0, growth=1.0)}, "growth"),
        ({"resolve_score": 9.0}, "resolve_score"),
        ({"level_half_life_hours": float("nan")}, "level_half_life_hours"),
        ({"growth_buckets": 0}, "growth_buckets"),
    ],
)
def test_a_bad_config_raises(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(CONFIG, **changes)  # type: ignore[arg-type]


def test_bad_input_raises_and_leaves_the_state_alone() -> None:
    detector = SeriesDetector(CONFIG, None)
    detector.observe(T0 + W, 3.0)
    state = detector.to_json()
    for bucket, value in [(T0 + W, 1.0), (T0, 1.0), (T0 + 2 * W + 1, 1.0), (T0 + 2 * W, -1.0)]:
        with pytest.raises(ValueError):
            detector.observe(bucket, value)
    with pytest.raises(ValueError):
        detector.observe(T0 + 2 * W, float("inf"))
    assert detector.to_json() == state
    with pytest.raises(ValueError, match="bucket_seconds"):
        SeriesDetector(replace(CONFIG, bucket_seconds=600), state)


def test_evaluation_on_a_tuning_subset_meets_the_bars_loosely() -> None:
    report = evaluate(tuning_set(n=20))
    assert (report.recall(3.0) or 0) >= 0.85
    assert report.precision >= 0.85
    assert (report.median_delay or 0) <= 2
    assert report.false_per_series_week <= 1


def test_settings_defaults_are_the_detector_defaults_and_bad_ones_fail() -> None:
    settings = DetectorSettings()
    assert settings.config() == CONFIG
    assert (settings.bucket_minutes, settings.allowed_lateness_minutes, settings.measure) == (
        5,
        10,
        "complaints",
    )
    custom = DetectorSettings.model_validate(
        {"bucket_minutes": 60, "severity": {"watch": {"score": 5, "ratio": 2}}, "min_count": 4}
    )
    config = custom.config()
    assert (config.bucket_seconds, config.watch, config.min_count) == (3600, Threshold(5, 2), 4)
    for bad in (
        {"bucket_minutes": 0},
        {"severity": {"critical": {"score": 1, "ratio": 1}}},
        {"window_minutes": 60},
    ):
        with pytest.raises(ValueError):
            DetectorSettings.model_validate(bad)


def test_a_gap_during_a_flare_neither_ends_it_nor_starts_another() -> None:
    detector, n = warmed()
    hot = [level(n + i, 20.0) * 6 for i in range(6)]
    verdicts = feed(detector, [*hot, *([None] * 3 * HOUR)], n)
    assert events(verdicts) == ["started"]
    assert verdicts[-1].state == "gap" and verdicts[-1].flare_start == T0 + n * W
    back = n + 6 + 3 * HOUR
    after = feed(detector, [level(back + i, 20.0) * 6 for i in range(3)], back)
    assert events(after) == [] and {v.state for v in after} == {"flaring"}
    calm = feed(detector, [level(back + 3 + i, 20.0) for i in range(12)], back + 3)
    assert events(calm) == ["ended"]
