"""The pure helpers of bench/bench_scale.py: partitions from /metrics, the timed window, the split
check, duplicates per event and the even spread of the backlog."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests import bench_scripts

bench = bench_scripts.load("bench_scale")
RAW = "scale-x.mentions.raw"


def sample(at: float, **finished: float) -> object:
    return bench.Sample(at=at, finished=finished, partitions={}, cpu={"w": at})


def test_assigned_reads_the_raw_topic_partitions_from_the_lag_gauge() -> None:
    metrics = {
        'flarewatch_consumer_lag_messages{partition="2",topic="scale-x.mentions.raw"}': 10.0,
        'flarewatch_consumer_lag_messages{partition="0",topic="scale-x.mentions.raw"}': 0.0,
        'flarewatch_consumer_lag_messages{partition="1",topic="scale-x.mentions.scored"}': 3.0,
        'flarewatch_agent_lag_messages{agent="score"}': 10.0,
        "flarewatch_mentions_scored_total": 5.0,
    }
    assert bench.assigned(metrics, RAW) == frozenset({0, 2})
    assert bench.assigned({}, RAW) == frozenset()


def test_window_starts_once_every_worker_scored_and_ends_at_the_total() -> None:
    samples = [
        sample(0.0, a=0, b=0),
        sample(1.0, a=64, b=0),  # b still loading: not timed yet
        sample(2.0, a=128, b=64),
        sample(3.0, a=192, b=128),
        sample(4.0, a=256, b=200),
    ]
    window = bench.drain_window(samples, 400)
    assert window is not None
    assert (window.start.at, window.end.at) == (2.0, 4.0)
    assert window.rate == pytest.approx((456 - 192) / 2.0)
    assert window.cpu() == {"w": 2.0}


def test_no_window_when_a_worker_never_scored_or_the_total_was_not_reached() -> None:
    assert bench.drain_window([sample(0.0, a=10, b=0), sample(1.0, a=400, b=0)], 400) is None
    assert bench.drain_window([sample(0.0, a=10), sample(1.0, a=300)], 400) is None


def test_held_is_every_partition_a_worker_had_inside_the_window() -> None:
    def s(at: float, a: set[int], b: set[int]) -> object:
        return bench.Sample(at, {"a": 1, "b": 1}, {"a": frozenset(a), "b": frozenset(b)}, {})

    samples = [s(0.0, {0, 1, 2, 3}, set()), s(1.0, {1, 3}, {0, 2}), s(2.0, {1, 3}, {0, 2})]
    window = bench.Window(samples[1], samples[2])
    assert bench.held(samples, window) == {"a": [1, 3], "b": [0, 2]}


@pytest.mark.parametrize(
    ("partitions", "workers", "expected"),
    [
        ({"a": {0, 1}, "b": {2, 3}}, ["a", "b"], True),
        ({"a": {0, 1}, "b": {1, 2, 3}}, ["a", "b"], False),  # overlap: a stale gauge
        ({"a": {0, 1}, "b": {2}}, ["a", "b"], False),  # partition 3 nowhere
        ({"a": {0, 1, 2, 3}, "b": set()}, ["a", "b"], False),  # b holds nothing yet
        ({"a": {0, 1, 2, 3}, "b": {9}}, ["a"], True),  # only the named workers count
    ],
)
def test_settled(partitions: dict[str, set[int]], workers: list[str], expected: bool) -> None:
    frozen = {w: frozenset(p) for w, p in partitions.items()}
    assert bench.settled(frozen, workers) is expected


def test_duplicates_belong_to_the_event_before_them() -> None:
    marks = [("start", 100.0), ("join", 200.0), ("leave", 300.0), ("kill", 400.0)]
    repeats = [150.0, 405.0, 410.0, 400.0]
    assert bench.duplicates_by_event(marks, repeats) == {"start": 1, "join": 0, "leave": 0, "kill": 3}
    assert bench.duplicates_by_event(marks, [50.0]) == {"start": 0, "join": 0, "leave": 0, "kill": 0}


def test_scored_counts_ids_duplicates_and_when_each_repeat_was_scored() -> None:
    scored = bench.Scored([("a", 1.0), ("b", 2.0), ("a", 5.0), ("c", 3.0), ("b", 0.5), ("a", 4.0)])
    assert scored.ids == {"a", "b", "c"}
    assert scored.duplicates == 3
    assert scored.repeats() == [2.0, 4.0, 5.0]  # the first scoring of each id is the original


def test_balanced_keeps_a_key_in_one_partition_and_evens_the_shares() -> None:
    keys = [b"long"] * 6 + [bytes([i]) for i in range(18)] + [b"long"] * 2
    parts = bench.balanced(keys, 4)
    assert len({p for k, p in zip(keys, parts, strict=True) if k == b"long"}) == 1
    assert sorted(Counter(parts).values()) == [6, 6, 6, 8]


def test_sample_copies_have_ids_and_threads_of_their_own() -> None:
    base = bench.sample_mentions()[:3]
    copies = bench.mentions(base, "t")
    first = [next(copies) for _ in range(3)]
    second = [next(copies) for _ in range(3)]
    ids = {m.mention_id for m in first + second}
    assert len(ids) == 6
    assert {m.partition_key for m in first}.isdisjoint({m.partition_key for m in second})


def test_cpu_figures_explain_a_missed_ratio() -> None:
    figures = {
        "timed_mentions": 3000,
        "seconds": 20.0,
        "cpus": {"worker-1": [0], "worker-2": [1]},
        "cpu_seconds": {"worker-1": 15.0, "worker-2": 15.0, "search": 4.0, "broker": 1.0},
    }
    assert bench.per_worker_cpu_second(figures) == pytest.approx(100.0)  # servers not counted
    assert bench.worker_cpu_share(figures) == pytest.approx(0.75)


def test_last_error_prefers_fausts_crash_reason_over_the_shutdown_noise(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    log.write_text(
        "[INFO] scoring agent ready\n"
        "[ERROR] [^---Recovery]: Crashed reason=ConsistencyError('persisted offset higher\\nthan')\n"
        "[ERROR] Error while stopping child: RuntimeError('Event loop is closed')\n"
    )
    child = bench.Child("worker-2", None, log, None)
    worker = bench.Worker("worker-2", 1, 0, child)
    reason = bench.last_error(worker)
    assert reason.startswith("Crashed reason=ConsistencyError('persisted offset higher (log: ")
    assert "than" not in reason  # the reason's escaped newline ends it
    log.write_text("[INFO] fine\n[ERROR] RuntimeError: boom\n[INFO] stopping\n")
    assert "RuntimeError: boom" in bench.last_error(worker)
