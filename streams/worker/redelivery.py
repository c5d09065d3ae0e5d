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
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
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


def repair_acks(acked: list[int], index: set[int], committed: int | None) -> None:
    """In place: ``acked`` sorted, each offset once, none below ``committed`` (the next offset to
    read, as Kafka stores it); ``index`` loses the offsets dropped."""
    clean = sorted({offset for offset in acked if committed is None or offset >= committed})
    if clean != acked:
        index.difference_update(set(acked) - set(clean))
        acked[:] = clean


def guard_offsets(consumer: Any, timeout: float = REVOKE_COMMIT_TIMEOUT_S) -> None:
    """Wrap two methods of the Faust consumer: ``on_partitions_revoked`` commits first, and
    ``_new_offset`` (the offset a commit may move to) reads a repaired list. Idempotent. Relies on
    the consumer keeping ``_acked``, ``_acked_index`` and ``_committed_offset`` per partition, as
    Faust 0.15 (the version ``pyproject.toml`` pins) does."""
    if getattr(consumer, GUARDED, False):
        return
    new_offset, revoke = consumer._new_offset, consumer.on_partitions_revoked

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
        await revoke(revoked)

    consumer._new_offset = checked
    consumer.on_partitions_revoked = commit_then_revoke
    setattr(consumer, GUARDED, True)
