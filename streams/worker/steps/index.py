"""The index step: scored mention bytes in; mentions and their threads written through a
:class:`~streams.worker.steps.writes.SearchWriter`; what failed out as dead letters."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from streams.contracts.codec import Invalid, decode
from streams.contracts.limits import MAX_MESSAGE_BYTES
from streams.contracts.records import ScoredMention, Stage
from streams.worker.messages import Failed, Incoming, error_reason, failed
from streams.worker.steps.isolate import each_alone
from streams.worker.steps.writes import SearchWriter, rejection_reason

Pairs = list[tuple[Incoming, ScoredMention]]


@dataclass(slots=True)
class IndexOutput:
    indexed: Pairs = field(default_factory=list)
    """Mentions the search server acknowledged, each with its message, in batch order."""
    threads: int = 0
    """Thread documents written (or already up to date)."""
    rejected: int = 0
    """Documents, mentions and threads, the server rejected for good."""
    dead: list[Failed] = field(default_factory=list)
    valid: list[bool] = field(default_factory=list)
    """Per message: not dead-lettered (for the dead-letter limit)."""


class IndexStep:
    """Decode scored mentions, index them, then merge the indexed ones into their threads.

    ``run`` awaits the writer, which waits out search outages (so it may take as long as one
    lasts), and never raises an ``Exception``: every message ends indexed or dead-lettered with
    stage ``index`` (undecodable; the mention rejected, or its write raising even alone). An indexed
    mention whose thread document was rejected, or whose thread merge raised even alone, is in
    ``indexed`` and also dead-lettered, with stage ``threads``: replaying it is safe (idempotent)."""

    def __init__(self, writer: SearchWriter, max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.writer = writer
        self.max_bytes = max_bytes

    async def run(self, batch: Sequence[Incoming]) -> IndexOutput:
        out = IndexOutput()
        decoded = self._decode(batch, out)
        kept = await self._mentions(decoded, out)
        out.indexed = kept
        await self._threads(kept, out)
        dead = {id(message) for message, _ in out.dead}
        out.valid = [id(message) not in dead for message in batch]
        return out

    def _decode(self, batch: Sequence[Incoming], out: IndexOutput) -> Pairs:
        """The scored mentions in ``batch``; the others dead-lettered into ``out``."""
        pairs: Pairs = []
        for message in batch:
            record = decode(ScoredMention, message.value, message.partition, message.offset, self.max_bytes)
            if isinstance(record, Invalid):
                out.dead.append(failed(message, record.reason, Stage.INDEX))
            else:
                pairs.append((message, record))
        return pairs

    async def _mentions(self, pairs: Pairs, out: IndexOutput) -> Pairs:
        """Index the mentions; returns the acknowledged ones, dead-letters the rest into ``out``."""
        if not pairs:
            return []
        results, raised = await each_alone([s for _, s in pairs], self.writer.mentions, "indexing mentions")
        rejected = [r for some in results for r in some]
        out.rejected += len(rejected)
        reasons: dict[str, list[str]] = defaultdict(list)
        for r in rejected:
            reasons[r.action.id].append(rejection_reason(r))
        for scored, exc in raised:
            reasons[scored.mention.mention_id].append(error_reason("indexing", exc))
        kept: Pairs = []
        for message, scored in pairs:
            left = reasons.get(scored.mention.mention_id)
            if left:
                out.dead.append(failed(message, left.pop(0), Stage.INDEX))
            else:
                kept.append((message, scored))
        return kept

    async def _threads(self, pairs: Pairs, out: IndexOutput) -> None:
        """Merge the mentions into their threads, one thread alone when a batch write raises;
        dead-letters every mention of a thread that could not be written into ``out``."""
        groups: dict[str, Pairs] = defaultdict(list)
        for message, scored in pairs:
            groups[scored.mention.thread_key].append((message, scored))
        if not groups:
            return
        mentions = [[s for _, s in group] for group in groups.values()]
        results, raised = await each_alone(
            mentions, lambda some: self.writer.threads([s for g in some for s in g]), "merging threads"
        )
        rejected = [r for some in results for r in some]
        out.rejected += len(rejected)
        reasons = {r.action.id: rejection_reason(r) for r in rejected}
        for some, exc in raised:
            reasons[some[0].mention.thread_key] = error_reason("merging the thread", exc)
        for key, members in groups.items():
            if key not in reasons:
                out.threads += 1
                continue
            out.dead += [failed(m, f"thread {key}: {reasons[key]}", Stage.THREADS) for m, _ in members]
