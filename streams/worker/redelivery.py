"""Guards against what Faust 0.15 does to offsets around a rebalance, each found with
``bench/bench_scale.py --worker-loglevel debug`` on the embedded broker, where a third worker
joining and one leaving produced 19 to 148 duplicate scored mentions per run:

* When partitions are revoked, Faust's consumer forgets the offsets acknowledged since the last
  commit first, and commits what is still in flight only afterwards. Finished mentions acked in
  the last commit interval (up to 2.8 s) are never committed, and whoever gets the partition
  scores them again, this worker included.
* Its recovery resumes a partition's stream before it seeks the partition to the committed
  offset, so records fetched in between reach the agents twice. Both copies are acknowledged, so
  the list of acknowledged offsets holds them twice (``[184, 185, 185, 186, 186, ...]``). Faust
  commits up to the end of the first run of consecutive offsets in that list, so from then on each
  commit moves by one offset, the committed position falls further behind every interval, and the
  next rebalance or restart hands hundreds of finished mentions to another worker.

:func:`guard_offsets` commits what was acknowledged before Faust forgets it (waiting at most
:data:`REVOKE_COMMIT_TIMEOUT_S`, so that a commit stuck behind the rebalance cannot hold the
rebalance up), and hands Faust a list of acknowledged offsets that is sorted, unique and not
below the committed offset. :class:`Finished` lets an agent skip a record it already finished
(its output is in Kafka; skipping it loses nothing). It remembers the exact offsets finished, not
the highest one: after a rebalance a partition may be read from an older offset than the one
reached before, and the records in between that were fetched but dropped with the revocation
were never finished. All of it stays at least once: a record whose batch did not finish is
processed again.

A third fault lost records outright (13 of 5,000 in one run of the SIGKILL fault test; found
after it failed in CI). Faust drops fetched records in several places without rewinding the
fetcher: records of a partition paused while tables recover, the rest of a batch when the flow
stops or the generation changes. Its recovery also resumes a partition before it seeks it to the
committed offset, so the fetcher can deliver records from where it had read ahead, and after the
seek it still delivers the rest of that batch. When the next record of a partition comes more
than one offset after the last one, Faust takes the offsets in between for compaction or
transaction markers and commits them as done (``Consumer._add_gap``). Records that no agent saw
are then committed: lost. :class:`Fence` admits each partition's records in offset order, each
once, from where the consumer was last sought to; a record after a hole is held back and the
partition is sought back to the hole, so the fetcher reads it again. A hole that is still there
after :data:`GAP_SEEKS` seeks is in the log itself (compaction or a transaction marker) and is
passed, with a warning.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from enum import Enum
from typing import Any

from intervaltree import IntervalTree

from streams.worker.messages import Incoming

log = logging.getLogger("flarewatch.worker")
GUARDED = "_flarewatch_offsets_guarded"
FINISHED_WINDOW = 100_000
"""Offsets remembered per partition: far more than one fetch and one commit interval hold."""
REVOKE_COMMIT_TIMEOUT_S = 10.0
"""The longest the commit before a revocation may take. A commit can wait behind the rebalance
(aiokafka rediscovering a coordinator it lost); past this the revocation goes on and the records
not committed are read again."""
GAP_SEEKS = 3
"""Seeks back to a hole before the offsets missing are taken to be absent from the log. A read-ahead
batch delivered after a seek looks like a hole once; one that fresh reads after three seeks still
skip is not."""


class Finished:
    """The offsets this worker finished per partition: the last ``window`` offsets of each, as
    ranges (finished offsets are mostly consecutive: a partition costs a few ranges)."""

    def __init__(self, window: int = FINISHED_WINDOW) -> None:
        self.window = window
        self._done: dict[tuple[str, int], IntervalTree] = {}

    def fresh(self, batch: Sequence[Incoming]) -> list[Incoming]:
        """``batch`` without the records finished before, or repeated within it, in order."""
        out: list[Incoming] = []
        seen: set[tuple[str, int, int]] = set()
        for message in batch:
            where = (message.topic, message.partition)
            done = self._done.get(where)
            if (done is not None and done.overlaps_point(message.offset)) or (*where, message.offset) in seen:
                continue
            seen.add((*where, message.offset))
            out.append(message)
        return out

    def finish(self, batch: Iterable[Incoming]) -> None:
        touched: set[tuple[str, int]] = set()
        for message in batch:
            where = (message.topic, message.partition)
            self._done.setdefault(where, IntervalTree()).addi(message.offset, message.offset + 1)
            touched.add(where)
        for where in touched:
            done = self._done[where]
            done.merge_overlaps(strict=False)
            done.chop(0, max(0, done.end() - self.window))


class Admit(Enum):
    YES = "yes"
    SEEN = "seen"
    """Already admitted since the last seek: drop it (the agents have it)."""
    HOLE = "hole"
    """After a hole: drop it; the partition is sought back to the hole after the batch."""


class Fence:
    """Per partition, the next offset the agents must get. Partitions it knows no offset for (never
    committed, or not sought yet) admit whatever comes first."""

    def __init__(self, gap_seeks: int = GAP_SEEKS) -> None:
        self.gap_seeks = gap_seeks
        self.next: dict[Any, int] = {}
        self._seeks: dict[Any, tuple[int, int]] = {}
        """Partition -> (hole offset, seeks back to it so far)."""
        self._holed: set[Any] = set()
        """Partitions with a hole in the batch being read."""

    def sought(self, positions: Mapping[Any, int | None]) -> None:
        """The consumer was sought: each partition's next record is at its offset (None or
        negative: unknown)."""
        for tp, offset in positions.items():
            if offset is None or offset < 0:
                self.forget((tp,))
                continue
            self.next[tp] = offset
            if self._seeks.get(tp, (offset,))[0] != offset:
                self._seeks.pop(tp, None)

    def forget(self, tps: Iterable[Any]) -> None:
        for tp in tps:
            self.next.pop(tp, None)
            self._seeks.pop(tp, None)
            self._holed.discard(tp)

    def admit(self, tp: Any, offset: int) -> Admit:
        if tp in self._holed:
            return Admit.HOLE
        expected = self.next.get(tp)
        if expected is not None and offset < expected:
            return Admit.SEEN
        if expected is not None and offset > expected:
            hole, seeks = self._seeks.get(tp, (expected, 0))
            if hole != expected or seeks < self.gap_seeks:
                self._holed.add(tp)
                return Admit.HOLE
            log.warning(
                "offsets %d-%d of %s:%d are not in the log (compaction or transaction markers),"
                " read again %d times: going on from %d",
                expected,
                offset - 1,
                tp.topic,
                tp.partition,
                seeks,
                offset,
            )
        self.next[tp] = offset + 1
        self._seeks.pop(tp, None)
        return Admit.YES

    def holes(self) -> dict[Any, int]:
        """The partitions to seek back after the batch, and where to; clears them."""
        holes = {tp: self.next[tp] for tp in self._holed}
        self._holed.clear()
        return holes

    def rewound(self, tp: Any, offset: int) -> None:
        """The consumer was sought back to the hole at ``offset``."""
        hole, seeks = self._seeks.get(tp, (offset, 0))
        self._seeks[tp] = (offset, seeks + 1 if hole == offset else 1)


def repair_acks(acked: list[int], index: set[int], committed: int | None) -> None:
    """In place: ``acked`` sorted, each offset once, none below ``committed`` (the next offset to
    read, as Kafka stores it); ``index`` loses the offsets dropped."""
    clean = sorted({offset for offset in acked if committed is None or offset >= committed})
    if clean != acked:
        index.difference_update(set(acked) - set(clean))
        acked[:] = clean


def guard_offsets(
    consumer: Any,
    timeout: float = REVOKE_COMMIT_TIMEOUT_S,
    fenced: Callable[[str], bool] | None = None,
    on_hole: Callable[[], None] = lambda: None,
) -> Fence:
    """Wrap methods of the Faust consumer: ``on_partitions_revoked`` commits first, ``_new_offset``
    (the offset a commit may move to) reads a repaired list, and ``getmany``, ``seek`` and
    ``seek_to_committed`` keep a :class:`Fence` on the topics ``fenced`` names (default: those
    Faust acknowledges, which leaves out the tables' changelogs). ``on_hole`` is called for each
    partition sought back to a hole. Idempotent. Relies on the consumer keeping ``_acked``,
    ``_acked_index`` and ``_committed_offset`` per partition and on ``_drain_messages`` taking its
    records from ``getmany``, as Faust 0.15 (the version ``pyproject.toml`` pins) does: install
    it before the fetcher starts (``streams.worker.app`` does when it creates the consumer)."""
    guarded: Fence | None = getattr(consumer, GUARDED, None)
    if guarded is not None:
        return guarded
    fence = Fence()
    acks = fenced or (lambda topic: bool(consumer.app.topics.acks_enabled_for(topic)))
    new_offset, revoke = consumer._new_offset, consumer.on_partitions_revoked
    getmany, seek, seek_to_committed = consumer.getmany, consumer.seek, consumer.seek_to_committed

    def checked(tp: Any) -> int | None:
        repair_acks(consumer._acked[tp], consumer._acked_index[tp], consumer._committed_offset[tp])
        result: int | None = new_offset(tp)
        return result

    async def commit_then_revoke(revoked: Any) -> None:
        try:
            await asyncio.wait_for(consumer.commit(), timeout)
        except TimeoutError:
            log.warning("commit before the rebalance took over %.0fs; going on without it", timeout)
        except Exception as exc:  # the revocation must go on; these offsets are redelivered
            log.warning("commit before the rebalance failed (%s: %s)", type(exc).__name__, exc)
        fence.forget(revoked)
        await revoke(revoked)

    async def fenced_getmany(timeout: float) -> AsyncIterator[tuple[Any, Any]]:
        async for tp, message in getmany(timeout=timeout):
            if not acks(tp.topic) or fence.admit(tp, message.offset) is Admit.YES:
                yield tp, message
        for tp, offset in fence.holes().items():
            log.info(
                "%s:%d: a record after a hole came first; reading again from %d",
                tp.topic,
                tp.partition,
                offset,
            )
            try:
                await seek(tp, offset)
            except Exception as exc:  # revoked meanwhile: the rebalance seeks it anyway
                log.warning(
                    "%s:%d: seek back to %d failed (%s: %s)",
                    tp.topic,
                    tp.partition,
                    offset,
                    type(exc).__name__,
                    exc,
                )
                continue
            fence.rewound(tp, offset)
            on_hole()

    async def fenced_seek(tp: Any, offset: int) -> None:
        await seek(tp, offset)
        fence.sought({tp: offset})

    async def fenced_seek_to_committed() -> Mapping[Any, int]:
        positions: Mapping[Any, int] = await seek_to_committed()
        fence.sought(positions)
        return positions

    consumer._new_offset = checked
    consumer.on_partitions_revoked = commit_then_revoke
    consumer.getmany = fenced_getmany
    consumer.seek = fenced_seek
    consumer.seek_to_committed = fenced_seek_to_committed
    setattr(consumer, GUARDED, fence)
    return fence
