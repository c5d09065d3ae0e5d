import pytest

from models.batching import plan_buckets, spread


def padded_cost(lengths: list[int], groups: list[list[int]], overhead: int) -> int:
    return sum(len(g) * max(lengths[i] for i in g) + overhead for g in groups)


def test_every_index_once_and_batches_bounded() -> None:
    lengths = [5, 40, 7, 33, 12, 90, 6, 8, 41, 39] * 7
    groups = plan_buckets(lengths, max_batch=16, overhead_tokens=32)
    flat = sorted(i for g in groups for i in g)
    assert flat == list(range(len(lengths)))
    assert all(1 <= len(g) <= 16 for g in groups)


def test_bucketing_beats_one_padded_batch_on_mixed_lengths() -> None:
    lengths = [4] * 30 + [100] * 2
    groups = plan_buckets(lengths, max_batch=64, overhead_tokens=16)
    assert len(groups) == 2
    assert padded_cost(lengths, groups, 16) < padded_cost(lengths, [list(range(32))], 16)


def test_large_overhead_keeps_one_batch() -> None:
    assert len(plan_buckets([10, 11, 12, 13], max_batch=8, overhead_tokens=10_000)) == 1


def test_empty_and_invalid() -> None:
    assert plan_buckets([], 4, 1) == []
    with pytest.raises(ValueError):
        plan_buckets([1], 0, 1)


def test_spread_splits_the_costliest_until_lanes_can_share_the_work() -> None:
    lengths = [30] * 40 + [5] * 4
    groups = [list(range(40)), list(range(40, 44))]
    out = spread(groups, lengths, lanes=2)
    assert sorted(i for g in out for i in g) == list(range(44))
    costs = [len(g) * max(lengths[i] for i in g) for g in out]
    assert costs == sorted(costs, reverse=True)
    assert max(costs) <= sum(costs) / 2  # no sub-batch is more than one lane's share
    assert len(out) == 3  # the 40 long texts were halved once, the short group kept whole


def test_spread_keeps_single_rows_and_one_lane() -> None:
    assert spread([[0]], [12], lanes=4) == [[0]]
    assert spread([[0, 1, 2], [3]], [5, 5, 5, 9], lanes=1) == [[0, 1, 2], [3]]
    assert spread([], [], lanes=2) == []
    with pytest.raises(ValueError):
        spread([[0]], [1], lanes=0)
