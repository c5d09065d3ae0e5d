import pytest

from models.batching import plan_buckets


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
