"""Replay pacing: a fixed rate, or the original timestamps sped up (no real waiting)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from streams.collectors.files import Line
from streams.collectors.replay import Pace, _Clock
from tests.factories import T0


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        monkeypatch.setattr("streams.collectors.replay.time.monotonic", lambda: self.now)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def lines(minutes: list[float]) -> list[Line]:
    return [Line(i, b"{}", None, T0 + timedelta(minutes=m)) for i, m in enumerate(minutes, 1)]


def test_rate_spaces_messages_evenly(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeTime(monkeypatch)
    pacer = _Clock(Pace(per_second=4), clock.sleep)
    for line in lines([0] * 9):
        pacer.wait(line)
    assert clock.now - 1000.0 == pytest.approx(2.0)  # 9 messages at 4/s: the last at t=2s
    assert len(clock.sleeps) == 8


def test_speedup_follows_original_timestamps(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeTime(monkeypatch)
    pacer = _Clock(Pace(speedup=60), clock.sleep)
    sent_at = []
    for line in lines([0, 1, 1, 10]):
        pacer.wait(line)
        sent_at.append(clock.now - 1000.0)
    assert sent_at == pytest.approx([0, 1, 1, 10])  # minutes become seconds at 60x


def test_as_fast_as_possible_never_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeTime(monkeypatch)
    pacer = _Clock(Pace(), clock.sleep)
    for line in lines([0, 5, 50]):
        pacer.wait(line)
    assert clock.sleeps == []


@pytest.mark.parametrize("kwargs", [{"per_second": 0}, {"speedup": -1}, {"per_second": 5, "speedup": 2}])
def test_bad_pace_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Pace(**kwargs)
