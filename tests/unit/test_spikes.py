from datetime import UTC, datetime, timedelta

import pytest

from models.spikes import BrandSpikes, SpikeRule, baseline, threshold

RULE = SpikeRule(window_seconds=3600, baseline_windows=24, min_history=6, z=3.0, min_count=8, min_ratio=2.0)
T0 = datetime(2026, 11, 16, tzinfo=UTC)


def feed(state: BrandSpikes, hour: int, count: int, prefix: str = "m") -> list:
    spikes = []
    for i in range(count):
        at = T0 + timedelta(hours=hour, minutes=(i * 7) % 60)
        spike = state.observe(f"{prefix}{hour}-{i}", at, "payment")
        if spike:
            spikes.append(spike)
    return spikes


def test_quiet_history_then_a_burst_alerts_once_per_window() -> None:
    state = BrandSpikes(RULE)
    for hour in range(24):
        assert feed(state, hour, 3 + hour % 3) == []
    spikes = feed(state, 24, 40)
    assert len(spikes) == 1
    spike = spikes[0]
    assert spike.window_start == T0 + timedelta(hours=24)
    assert spike.observed >= spike.threshold > spike.baseline_mean
    assert spike.baseline_mean == pytest.approx(4.0, abs=0.1)
    assert spike.top_categories == {"payment": spike.observed}
    assert feed(state, 24, 10, prefix="more") == []  # same window: already alerted


def test_no_alert_while_learning_or_below_minimum() -> None:
    state = BrandSpikes(RULE)
    assert feed(state, 0, 50) == []  # no history yet
    quiet = BrandSpikes(RULE)
    for hour in range(10):
        feed(quiet, hour, 0)
        quiet.observe(f"q{hour}", T0 + timedelta(hours=hour), None)  # one per hour
    assert feed(quiet, 10, 7) == []  # 7 < min_count


def test_redelivered_mentions_are_not_counted_twice() -> None:
    state = BrandSpikes(RULE)
    for hour in range(8):
        feed(state, hour, 2)
    for _ in range(3):
        assert feed(state, 8, 7) == []  # the same 7 ids again and again


def test_late_mentions_beyond_the_allowance_are_ignored() -> None:
    state = BrandSpikes(RULE)
    for hour in range(10):
        feed(state, hour, 2)
    assert state.observe("late", T0 + timedelta(hours=2), None) is None
    assert state.windows.get(int((T0 + timedelta(hours=2)).timestamp()))
    assert state.windows[int((T0 + timedelta(hours=2)).timestamp())].count == 2


def test_state_survives_a_json_round_trip() -> None:
    state = BrandSpikes(RULE)
    for hour in range(24):
        feed(state, hour, 4)
    restored = BrandSpikes.from_json(RULE, state.to_json())
    assert restored.to_json() == state.to_json()
    assert len(feed(restored, 24, 40)) == 1


def test_old_windows_are_pruned() -> None:
    state = BrandSpikes(RULE)
    for hour in range(100):
        feed(state, hour, 1)
    assert len(state.windows) <= RULE.baseline_windows + 2


def test_threshold_floors() -> None:
    assert baseline([]) == (0.0, 0.0)
    assert threshold(RULE, 0.0, 0.0) == 8.0  # min_count
    assert threshold(RULE, 100.0, 1.0) == 200.0  # min_ratio dominates a flat, busy baseline
    assert threshold(RULE, 6.0, 5.0) == pytest.approx(6.0 + 3 * 5.0)  # a noisy baseline's own spread
    assert threshold(RULE, 4.0, 0.0) == pytest.approx(4.0 + 3 * 2.0)  # at least sqrt(mean) (Poisson)
