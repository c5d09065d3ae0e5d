"""The scoring agent skips records it already finished, and commits move with the work even when
Faust acknowledged a record twice (see streams/worker/redelivery.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import faust
from faust.types import TP

from streams.worker.messages import Incoming
from streams.worker.redelivery import Finished, guard_offsets, repair_acks


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
