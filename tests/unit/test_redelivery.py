"""The scoring agent skips records it already finished, and commits move with the work even when
Faust acknowledged a record twice (see streams/worker/redelivery.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import faust
from faust.types import TP

from streams.worker.messages import Incoming
from streams.worker.redelivery import Admit, Fence, Finished, guard_offsets, repair_acks


def records(partition: int, *offsets: int, topic: str = "raw") -> list[Incoming]:
    return [Incoming(b"v", b"k", topic, partition, offset) for offset in offsets]


def offsets(batch: list[Incoming]) -> list[tuple[int, int]]:
    return [(m.partition, m.offset) for m in batch]


def test_a_record_finished_before_or_repeated_in_the_batch_is_skipped() -> None:
    finished = Finished()
    first = records(0, 10, 11, 12) + records(1, 5)
    assert finished.fresh(first) == first
    finished.finish(first)
    again = records(0, 11, 12, 13, 13, 14) + records(1, 5, 6)
    assert offsets(finished.fresh(again)) == [(0, 13), (0, 14), (1, 6)]


def test_another_topic_or_partition_is_not_confused_with_a_finished_one() -> None:
    finished = Finished()
    finished.finish(records(0, 100))
    batch = records(0, 3, topic="other") + records(1, 3)
    assert finished.fresh(batch) == batch


def test_a_record_below_a_finished_one_is_read_when_it_was_never_finished() -> None:
    # After a rebalance a partition can be read again from an older offset: records fetched and
    # dropped with the revocation (41, 42 here) were never finished and must not be skipped.
    finished = Finished()
    finished.finish(records(0, 40, 43, 44) + records(1, 50))
    assert offsets(finished.fresh(records(0, 40, 41, 42, 43, 44, 45) + records(1, 49, 50))) == [
        (0, 41),
        (0, 42),
        (0, 45),
        (1, 49),
    ]


def test_only_the_last_window_of_offsets_is_remembered() -> None:
    finished = Finished(window=100)
    finished.finish(records(0, *range(0, 50)))
    finished.finish(records(0, *range(150, 200)))
    assert offsets(finished.fresh(records(0, 10, 120, 160))) == [(0, 10), (0, 120)]


def test_repair_makes_acknowledged_offsets_unique_and_drops_those_already_committed() -> None:
    acked, index = [183, 184, 185, 185, 186, 186, 187], {183, 184, 185, 186, 187}
    repair_acks(acked, index, committed=184)
    assert acked == [184, 185, 186, 187]
    assert index == {184, 185, 186, 187}
    untouched = [7, 8, 9]
    repair_acks(untouched, {7, 8, 9}, committed=None)
    assert untouched == [7, 8, 9]


def _consumer() -> Any:
    app = faust.App("redelivery-test", broker="kafka://127.0.0.1:1", autodiscover=False)
    return app.consumer


def test_what_was_acknowledged_is_committed_before_faust_forgets_it_on_a_revocation() -> None:
    calls: list[str] = []

    async def run() -> None:
        consumer: Any = _consumer()

        async def commit() -> bool:
            calls.append("commit")
            return True

        async def revoke(revoked: set[TP]) -> None:
            calls.append(f"revoke {sorted(tp.partition for tp in revoked)}")

        consumer.commit, consumer.on_partitions_revoked = commit, revoke
        guard_offsets(consumer)
        await consumer.on_partitions_revoked({TP("raw", 0), TP("raw", 1)})

    asyncio.run(run())
    assert calls == ["commit", "revoke [0, 1]"]


def test_a_failed_commit_does_not_stop_the_revocation() -> None:
    calls: list[str] = []

    async def run() -> None:
        consumer: Any = _consumer()

        async def commit() -> bool:
            raise RuntimeError("broker gone")

        async def revoke(revoked: set[TP]) -> None:
            calls.append("revoke")

        consumer.commit, consumer.on_partitions_revoked = commit, revoke
        guard_offsets(consumer)
        await consumer.on_partitions_revoked({TP("raw", 0)})

    asyncio.run(run())
    assert calls == ["revoke"]


def test_a_commit_stuck_behind_the_rebalance_does_not_hold_the_revocation_up() -> None:
    calls: list[str] = []

    async def run() -> None:
        consumer: Any = _consumer()

        async def commit() -> bool:
            await asyncio.Event().wait()  # waits for a coordinator the rebalance would find
            return True

        async def revoke(revoked: set[TP]) -> None:
            calls.append("revoke")

        consumer.commit, consumer.on_partitions_revoked = commit, revoke
        guard_offsets(consumer, timeout=0.05)
        await asyncio.wait_for(consumer.on_partitions_revoked({TP("raw", 0)}), 5)

    asyncio.run(run())
    assert calls == ["revoke"]


def test_faust_alone_commits_one_offset_per_interval_over_a_doubled_ack_and_guarded_it_does_not() -> None:
    async def run() -> tuple[int | None, int | None]:
        tp = TP("raw", 0)
        plain, guarded = _consumer(), _consumer()
        guard_offsets(guarded)
        guard_offsets(guarded)  # idempotent: one wrapper
        for consumer in (plain, guarded):
            consumer._committed_offset[tp] = 5
            consumer._acked[tp] = [5, 6, 6, 7, 7, 8]
            consumer._acked_index[tp] = {5, 6, 7, 8}
        return plain._new_offset(tp), guarded._new_offset(tp)

    plain, guarded = asyncio.run(run())
    assert plain == 7  # Faust's own answer: the end of [5, 6], though 5-8 are all done
    assert guarded == 9


RAW0, RAW1 = TP("raw", 0), TP("raw", 1)


def test_the_fence_admits_each_offset_once_in_order_from_where_the_consumer_was_sought() -> None:
    fence = Fence()
    fence.sought({RAW0: 100, RAW1: None})
    assert [fence.admit(RAW0, o) for o in (100, 101, 101, 99, 102)] == [
        Admit.YES,
        Admit.YES,
        Admit.SEEN,
        Admit.SEEN,
        Admit.YES,
    ]
    assert fence.admit(RAW1, 7) is Admit.YES  # unknown start: the first record sets it
    assert fence.admit(RAW1, 8) is Admit.YES
    assert fence.holes() == {}


def test_a_record_after_a_hole_is_held_back_until_the_hole_is_read_again() -> None:
    # The loss the fence stops: the fetcher read ahead from 104 (records 100-103 were fetched
    # while the partition was paused and dropped), the consumer was sought to the committed 100,
    # and the rest of the read-ahead batch still arrives first.
    fence = Fence()
    fence.sought({RAW0: 100})
    assert [fence.admit(RAW0, o) for o in (104, 105)] == [Admit.HOLE, Admit.HOLE]
    assert fence.admit(RAW1, 3) is Admit.YES  # other partitions go on
    assert fence.holes() == {RAW0: 100}
    fence.rewound(RAW0, 100)
    assert [fence.admit(RAW0, o) for o in range(100, 106)] == [Admit.YES] * 6
    assert fence.holes() == {}


def test_a_seek_to_an_unknown_offset_mid_batch_drops_the_hole_instead_of_failing() -> None:
    # A rebalance may seek the partition (to no committed offset) between the record after the
    # hole and the end of the batch: nothing to seek back to, and the fetcher must not fail.
    fence = Fence()
    fence.sought({RAW0: 100, RAW1: 7})
    assert fence.admit(RAW0, 104) is Admit.HOLE
    assert fence.admit(RAW1, 9) is Admit.HOLE
    fence.sought({RAW0: None})
    assert fence.holes() == {RAW1: 7}
    assert fence.admit(RAW0, 104) is Admit.YES


def test_a_hole_that_fresh_reads_still_skip_after_three_seeks_is_passed() -> None:
    # Offsets 50-51 are not in the log (a transaction marker, compaction): a fresh read from 50
    # starts at 52 every time.
    fence = Fence(gap_seeks=3)
    fence.sought({RAW0: 50})
    for _ in range(3):
        assert fence.admit(RAW0, 52) is Admit.HOLE
        assert fence.holes() == {RAW0: 50}
        fence.rewound(RAW0, 50)
        fence.sought({RAW0: 50})  # the seek back, as the guarded consumer reports it
    assert fence.admit(RAW0, 52) is Admit.YES
    assert fence.admit(RAW0, 53) is Admit.YES


def test_a_new_hole_or_a_seek_elsewhere_starts_the_count_again() -> None:
    fence = Fence(gap_seeks=1)
    fence.sought({RAW0: 10})
    assert fence.admit(RAW0, 12) is Admit.HOLE
    fence.holes()
    fence.rewound(RAW0, 10)
    fence.sought({RAW0: 20})  # a rebalance sought it elsewhere
    assert fence.admit(RAW0, 25) is Admit.HOLE
    fence.forget([RAW0])
    assert fence.admit(RAW0, 25) is Admit.YES  # revoked, then assigned again: unknown start


def _scripted(consumer: Any, batches: list[list[int]], seek: Any) -> None:
    """Replace the consumer's fetcher with ``batches`` of raw/0 offsets, its seek with ``seek``,
    and its committed offset with 10."""

    async def getmany(timeout: float) -> Any:
        for offset in batches.pop(0):
            yield RAW0, faust.types.Message("raw", 0, offset, 0.0, None, None, None, b"k", b"v", 0, 0)

    async def seek_to_committed() -> dict[TP, int]:
        return {RAW0: 10}

    consumer.getmany, consumer.seek, consumer.seek_to_committed = getmany, seek, seek_to_committed


def test_the_guarded_consumer_drops_read_ahead_records_and_seeks_back_to_the_hole() -> None:
    # Faust's consumer with its fetcher replaced by a script: the committed offset is 10, and the
    # first batch after the seek holds read-ahead records 14-15 ahead of 10-13.
    sought: list[tuple[int, int]] = []
    holes: list[int] = []

    async def run() -> list[list[int]]:
        consumer: Any = _consumer()

        async def seek(tp: TP, offset: int) -> None:
            sought.append((tp.partition, offset))

        _scripted(consumer, [[14, 15], [10, 11, 12, 13, 14, 15, 16]], seek)
        guard_offsets(consumer, fenced=lambda topic: topic == "raw", on_hole=lambda: holes.append(1))
        await consumer.seek_to_committed()
        delivered = []
        for _ in range(2):
            delivered.append([m.offset async for _, m in consumer.getmany(timeout=1.0)])
        return delivered

    assert asyncio.run(run()) == [[], [10, 11, 12, 13, 14, 15, 16]]
    assert sought == [(0, 10)] and holes == [1]


def test_a_seek_back_that_fails_leaves_the_hole_to_the_next_batch() -> None:
    async def run() -> list[list[int]]:
        consumer: Any = _consumer()
        failures = [RuntimeError("partition revoked")]

        async def seek(tp: TP, offset: int) -> None:
            if failures:
                raise failures.pop()

        _scripted(consumer, [[14], [14], [10, 11]], seek)
        fence = guard_offsets(consumer, fenced=lambda topic: topic == "raw")
        await consumer.seek_to_committed()
        delivered = [[m.offset async for _, m in consumer.getmany(timeout=1.0)] for _ in range(3)]
        assert fence.next[RAW0] == 12
        return delivered

    assert asyncio.run(run()) == [[], [], [10, 11]]
