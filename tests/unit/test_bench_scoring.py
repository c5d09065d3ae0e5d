"""bench/bench_scoring.py's paired speed-up: the default and the baseline alternate within each
round, so the ratio of a round compares passes that ran under the same machine conditions."""

from __future__ import annotations

import pytest

from tests import bench_scripts

bench = bench_scripts.load("bench_scoring")


class Clock:
    """A clock that moves only when a fake scorer works: the slow spells are chosen by the test."""

    def __init__(self) -> None:
        self.now = 0.0
        self.calls: list[str] = []

    def perf_counter(self) -> float:
        return self.now


def test_each_round_times_the_fast_pass_and_the_slow_pass_back_to_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    monkeypatch.setattr(bench.time, "perf_counter", clock.perf_counter)
    slowdown = iter([1.0, 1.0, 1.0, 1.0, 3.0, 3.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])  # per pass, warm-ups first

    def timed(name: str, seconds_per_call: float) -> object:
        factor = {"value": 1.0}

        def score(batch: list[str]) -> object:
            if not clock.calls or clock.calls[-1] != name:
                factor["value"] = next(slowdown)
            clock.calls.append(name)
            clock.now += seconds_per_call * factor["value"]
            return batch

        return score

    fast, slow = timed("fast", 1.0), timed("slow", 1.0)
    ratios = bench.paired_ratios(fast, ["t"] * 128, slow, ["t"] * 10, batch=64, rounds=5)

    # 128 texts in two calls against 10 texts in ten: 64 texts/s against 1, in every round,
    # including the round where the machine ran three times slower for both passes.
    assert ratios == pytest.approx([64.0] * 5)
    runs = [name for i, name in enumerate(clock.calls) if i == 0 or clock.calls[i - 1] != name]
    assert runs == ["fast", "slow"] * 6  # the warm-ups, then five alternating rounds


def test_a_slow_spell_in_one_pass_moves_only_its_round(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(bench.time, "perf_counter", clock.perf_counter)
    fast_calls = []

    def fast(batch: list[str]) -> object:
        fast_calls.append(len(batch))
        in_third_round = len(fast_calls) in (6, 7)  # the warm-up is call 1, each round two calls
        clock.now += 2.0 if in_third_round else 1.0
        return batch

    def slow(batch: list[str]) -> object:
        clock.now += 1.0
        return batch

    ratios = bench.paired_ratios(fast, ["t"] * 128, slow, ["t"] * 10, batch=64, rounds=5)
    assert ratios[2] == pytest.approx(32.0)
    assert ratios[:2] + ratios[3:] == pytest.approx([64.0] * 4)
    assert sorted(ratios)[2] == pytest.approx(64.0)  # the median the check uses is not moved by it
