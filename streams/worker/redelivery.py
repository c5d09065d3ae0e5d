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

:func:`guard_offsets` commits what was acknowledged before Faust forgets it, and hands Faust a
list of acknowledged offsets that is sorted, unique and not below the committed offset.
:class:`Finished` lets an agent skip a record it already finished since the partition was
assigned to this worker (its output is in Kafka; skipping it loses nothing). All of it stays at
least once: a record whose batch did not finish is processed again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from streams.worker.messages import Incoming

log = logging.getLogger("flarewatch.worker")
GUARDED = "_flarewatch_offsets_guarded"


class Finished:
    """The highest offset this worker finished per partition, since it was assigned."""

    def __init__(self) -> None:
        self._done: dict[tuple[str, int], int] = {}

    def fresh(self, batch: Sequence[Incoming]) -> list[Incoming]:
        """``batch`` without the records finished before, or repeated within it, in order."""
        out: list[Incoming] = []
        seen: set[tuple[str, int, int]] = set()
        for message in batch:
            where = (message.topic, message.partition)
            done = self._done.get(where)
            if (done is not None and message.offset <= done) or (*where, message.offset) in seen:
                continue
            seen.add((*where, message.offset))
            out.append(message)
        return out

    def finish(self, batch: Iterable[Incoming]) -> None:
        for message in batch:
            where = (message.topic, message.partition)
            self._done[where] = max(message.offset, self._done.get(where, -1))

    def forget(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Partitions taken away: another worker may move them on, and they may come back."""
        for where in partitions:
            self._done.pop(where, None)


def repair_acks(acked: list[int], index: set[int], committed: int | None) -> None:
    """In place: ``acked`` sorted, each offset once, none below ``committed`` (the next offset to
    read, as Kafka stores it); ``index`` loses the offsets dropped."""
    clean = sorted({offset for offset in acked if committed is None or offset >= committed})
    if clean != acked:
        index.difference_update(set(acked) - set(clean))
        acked[:] = clean


def guard_offsets(consumer: Any) -> None:
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
            await consumer.commit()
        except Exception as exc:  # the revocation must go on; these offsets are redelivered
            log.warning("commit before the rebalance failed (%s: %s)", type(exc).__name__, exc)
        await revoke(revoked)

    consumer._new_offset = checked
    consumer.on_partitions_revoked = commit_then_revoke
    setattr(consumer, GUARDED, True)
